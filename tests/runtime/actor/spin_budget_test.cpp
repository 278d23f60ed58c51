// SPDX-License-Identifier: Apache-2.0
// The adaptive spin of link readers and requesters (actor/spin_budget.hpp),
// on a reader's timings: it grows while spins find data, shrinks to nothing
// when they do not, stops at once on a crowded machine, and grows again
// after a sleep that ended soon.
#include "actor/spin_budget.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using troupe::detail::spin_budget;

TEST(SpinBudget, AnIdleReaderNeverSpins) {
  spin_budget b{50us};
  EXPECT_EQ(b.get(), 0us);
  // Woken up by a frame after a long sleep (a heartbeat on an idle node).
  b.woke(100ms);
  EXPECT_EQ(b.get(), 0us);
  b.woke(201us); // longer than four spins
  EXPECT_EQ(b.get(), 0us);
}

TEST(SpinBudget, AShortSleepStartsItAndHitsDoubleItUpToTheCap) {
  spin_budget b{50us};
  b.woke(30us);
  EXPECT_EQ(b.get(), 12us); // a quarter of the cap
  b.hit();
  EXPECT_EQ(b.get(), 24us);
  b.hit();
  EXPECT_EQ(b.get(), 48us);
  b.hit();
  EXPECT_EQ(b.get(), 50us);
  b.hit();
  EXPECT_EQ(b.get(), 50us);
  b.woke(10us); // already spinning: a short sleep does not shrink it
  EXPECT_EQ(b.get(), 50us);
}

TEST(SpinBudget, MissesHalveItToNothing) {
  spin_budget b{50us};
  b.woke(1us);
  for (int i = 0; i < 4; ++i)
    b.hit();
  ASSERT_EQ(b.get(), 50us);
  b.miss(false);
  EXPECT_EQ(b.get(), 25us);
  int misses = 1;
  while (b.get() > 0us && misses < 100) {
    b.miss(false);
    ++misses;
  }
  EXPECT_EQ(b.get(), 0us);
  EXPECT_EQ(misses, 6); // 50, 25, 12, 6, 3, 1, 0
}

TEST(SpinBudget, ACrowdedMachineStopsItAtOnce) {
  spin_budget b{50us};
  b.woke(1us);
  b.hit();
  b.hit();
  ASSERT_GT(b.get(), 0us);
  b.miss(true);
  EXPECT_EQ(b.get(), 0us);
}

TEST(SpinBudget, ZeroCapNeverSpins) {
  spin_budget b{0us};
  b.woke(0us);
  b.hit();
  EXPECT_EQ(b.get(), 0us);
}

TEST(SpinBudget, ATinyCapStillSpins) {
  spin_budget b{2us};
  b.woke(1us);
  EXPECT_EQ(b.get(), 1us);
  b.hit();
  EXPECT_EQ(b.get(), 2us);
}

TEST(SpinBudget, ASpinThatMissedByLittleGrowsUntilItHits) {
  // A ping-pong whose answers come 25 us after the request left.
  spin_budget b{50us};
  b.woke(60us); // a few caps: a modest start
  EXPECT_EQ(b.get(), 12us);
  b.miss(false);
  EXPECT_EQ(b.get(), 6us);
  b.woke(13us); // the data came soon after the spin gave up
  EXPECT_EQ(b.get(), 24us);
  b.miss(false);
  b.woke(1us);
  EXPECT_EQ(b.get(), 48us);
  b.hit();
  EXPECT_EQ(b.get(), 50us);
}

TEST(SpinBudget, DataAFewCapsAwayKeepsItModest) {
  spin_budget b{50us};
  b.woke(120us);
  EXPECT_EQ(b.get(), 12us);
  b.miss(false);
  b.woke(120us);
  EXPECT_EQ(b.get(), 12us);
  b.miss(false);
  b.miss(false);
  b.miss(false);
  b.miss(false);
  EXPECT_EQ(b.get(), 0us);
  b.woke(1s);
  EXPECT_EQ(b.get(), 0us);
}

TEST(SpinBudget, APrimedBudgetStartsAtAQuarterOfTheCapAndStillAdapts) {
  // A requester: its first request polls a little, before any history.
  spin_budget b{200us};
  b.prime();
  EXPECT_EQ(b.get(), 50us);
  b.miss(false); // the answer took long...
  b.woke(2ms);   // ...milliseconds: polling stays low
  EXPECT_EQ(b.get(), 25us);
  spin_budget off{0us};
  off.prime();
  EXPECT_EQ(off.get(), 0us) << "a cap of 0 never polls";
}
