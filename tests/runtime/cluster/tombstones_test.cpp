// SPDX-License-Identifier: Apache-2.0
// Forgetting members and their tombstones, on made-up times.
#include "cluster/tombstones.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using troupe::member_status;
using namespace troupe::cluster;

namespace {
steady_time t0{};
}

TEST(Forgetting, OnlyMembersThatLeftOrAreDownAreForgotten) {
  for (auto s : {member_status::joining, member_status::up,
                 member_status::removed})
    EXPECT_FALSE(forget_now(s, t0, t0 + 1h, 10s)) << troupe::to_string(s);
  EXPECT_FALSE(forget_now(member_status::left, t0, t0 + 9s, 10s));
  EXPECT_TRUE(forget_now(member_status::left, t0, t0 + 10s, 10s));
  EXPECT_FALSE(forget_now(member_status::down, t0, t0 + 9s, 10s));
  EXPECT_TRUE(forget_now(member_status::down, t0, t0 + 10s, 10s));
}

TEST(Forgetting, NeverBeforeTwoFailureTimeouts) {
  troupe::failure_detector_settings fd;
  fd.failure_timeout = 1600ms;
  fd.forget_after = 100ms;
  EXPECT_EQ(forget_delay(fd), 3200ms);
  fd.forget_after = 10s;
  EXPECT_EQ(forget_delay(fd), 10s);
}

TEST(Tombstones, KeepTheNewestIncarnation) {
  tombstones xs;
  xs.add("n2", tombstone{7, {}, false, t0});
  xs.add("n2", tombstone{5, {}, false, t0 + 1s});
  ASSERT_NE(xs.find("n2"), nullptr);
  EXPECT_EQ(xs.find("n2")->incarnation, 7u);
  xs.add("n2", tombstone{9, {}, false, t0 + 2s});
  EXPECT_EQ(xs.find("n2")->incarnation, 9u);
  xs.erase("n2");
  EXPECT_EQ(xs.find("n2"), nullptr);
}

TEST(Tombstones, ExpireByAgeThenOldestFirstBeyondTheBound) {
  tombstones xs;
  xs.add("a", tombstone{1, {}, false, t0});
  xs.add("b", tombstone{1, {}, false, t0 + 10s});
  xs.add("c", tombstone{1, {}, false, t0 + 20s});
  xs.add("d", tombstone{1, {}, false, t0 + 30s});
  EXPECT_EQ(xs.expire(t0 + 1h + 5s, 1h, 10), 1u); // "a" is an hour old
  EXPECT_EQ(xs.find("a"), nullptr);
  EXPECT_EQ(xs.expire(t0 + 1h + 5s, 1h, 2), 1u); // "b" is the oldest left
  EXPECT_EQ(xs.find("b"), nullptr);
  EXPECT_NE(xs.find("c"), nullptr);
  EXPECT_NE(xs.find("d"), nullptr);
}

TEST(Tombstones, AFenceVoidsTheirJudgements) {
  tombstones xs;
  xs.add("a", tombstone{1, {}, false, t0});
  xs.void_judgements();
  EXPECT_TRUE(xs.find("a")->by_own_fence);
}
