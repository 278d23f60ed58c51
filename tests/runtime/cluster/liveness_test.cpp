// SPDX-License-Identifier: Apache-2.0
// The liveness clock and the silence rule, on made-up times; the liveness
// thread's bookkeeping of arrivals.
#include "cluster/liveness.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using troupe::cluster::liveness;
using troupe::cluster::stall_clock;
using troupe::cluster::went_silent;
using steady = std::chrono::steady_clock;

TEST(StallClock, WakeUpsWithinTheLimitAreNoStall) {
  stall_clock c{1600ms};
  steady::time_point t{};
  EXPECT_FALSE(c.wake(t));
  for (int i = 1; i <= 50; ++i)
    EXPECT_FALSE(c.wake(t + i * 200ms));
  // Late, but within the limit (a thread that waited for a busy core).
  EXPECT_FALSE(c.wake(t + 50 * 200ms + 1500ms));
}

TEST(StallClock, AGapBeyondTheLimitIsAStallOnce) {
  stall_clock c{1600ms};
  steady::time_point t{};
  EXPECT_FALSE(c.wake(t));
  auto stall = c.wake(t + 4s);
  ASSERT_TRUE(stall);
  EXPECT_EQ(*stall, 4s);
  EXPECT_FALSE(c.wake(t + 4s + 200ms));
}

TEST(WentSilent, ADropWhileHeartbeatsAreFreshIsADeath) {
  steady::time_point t{};
  EXPECT_FALSE(went_silent(t, t + 300ms, 1600ms));
  EXPECT_TRUE(went_silent(t, t + 800ms, 1600ms));
  EXPECT_TRUE(went_silent(t, t + 1700ms, 1600ms));
}

TEST(Liveness, KeepsTheLastArrivalOfTheNewestIncarnation) {
  liveness live{200ms, 1600ms};
  steady::time_point t{};
  live.heard("n2", 5, t + 1s);
  live.heard("n2", 5, t + 3s);
  live.heard("n2", 5, t + 2s); // delivered out of order: the latest counts
  EXPECT_EQ(live.last_heard("n2", 5), t + 3s);
  live.heard("n2", 4, t + 9s); // an older incarnation changes nothing
  EXPECT_EQ(live.last_heard("n2", 5), t + 3s);
  EXPECT_FALSE(live.last_heard("n2", 4));
  live.heard("n2", 6, t + 4s);
  EXPECT_FALSE(live.last_heard("n2", 5));
  EXPECT_EQ(live.last_heard("n2", 6), t + 4s);
  live.forget("n2");
  EXPECT_FALSE(live.last_heard("n2", 6));
}

TEST(Liveness, ADownArrivalIsTakenOnce) {
  liveness live{200ms, 1600ms};
  caf::actor_addr nobody;
  steady::time_point t{};
  live.down_arrived(nobody, t + 1s);
  EXPECT_EQ(live.take_down(nobody), t + 1s);
  EXPECT_FALSE(live.take_down(nobody));
}

TEST(Liveness, TheThreadStartsAndStopsWithoutASender) {
  liveness live{10ms, 1600ms};
  live.start({});
  live.stop();
  live.stop();
  EXPECT_FALSE(live.take_stall());
}
