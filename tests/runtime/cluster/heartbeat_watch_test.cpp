// SPDX-License-Identifier: Apache-2.0
// One monitor's verdicts (cluster/heartbeat_watch.hpp) on virtual time.
#include "cluster/heartbeat_watch.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using namespace troupe::cluster;

namespace {

using time_point = heartbeat_watch::time_point;
const time_point t0 = time_point{} + 1h;
const member_key a{"a", 1};
const member_key b{"b", 1};

bool reachable(heartbeat_watch& w, const member_key& who, time_point now) {
  for (auto& v : w.judge(now))
    if (v.subject == who)
      return v.reachable;
  ADD_FAILURE() << who.name << " is not watched";
  return false;
}

} // namespace

TEST(HeartbeatWatch, AMemberSilentForTheFailureTimeoutIsUnreachable) {
  heartbeat_watch w(1000ms, 500ms);
  w.watch({a}, t0);
  w.heard(a, t0 + 200ms);
  EXPECT_TRUE(reachable(w, a, t0 + 400ms));
  EXPECT_TRUE(reachable(w, a, t0 + 800ms));
  EXPECT_TRUE(reachable(w, a, t0 + 1199ms));
  EXPECT_FALSE(reachable(w, a, t0 + 1200ms));
  // It answers again: reachable again.
  w.heard(a, t0 + 1300ms);
  EXPECT_TRUE(reachable(w, a, t0 + 1400ms));
}

TEST(HeartbeatWatch, ANewlyWatchedMemberHasAFailureTimeoutToAnswer) {
  heartbeat_watch w(1000ms, 500ms);
  w.watch({a}, t0);
  EXPECT_TRUE(reachable(w, a, t0 + 400ms));
  EXPECT_TRUE(reachable(w, a, t0 + 800ms));
  w.watch({a, b}, t0 + 900ms); // b joins the watch list, a keeps its clock
  EXPECT_FALSE(reachable(w, a, t0 + 1000ms));
  EXPECT_TRUE(reachable(w, b, t0 + 1000ms));
  EXPECT_TRUE(reachable(w, b, t0 + 1400ms));
  EXPECT_FALSE(reachable(w, b, t0 + 1900ms));
}

TEST(HeartbeatWatch, AnswersOfAnotherIncarnationDoNotCount) {
  heartbeat_watch w(1000ms, 500ms);
  w.watch({a}, t0);
  for (auto t = 200ms; t <= 1200ms; t += 200ms)
    w.heard({"a", 2}, t0 + t); // a restarted: its old incarnation is gone
  bool seen = true;
  for (auto t = 200ms; t <= 1200ms; t += 200ms)
    seen = reachable(w, a, t0 + t);
  EXPECT_FALSE(seen);
  EXPECT_TRUE(w.subjects() == std::vector<member_key>{a});
}

TEST(HeartbeatWatch, AKilledMemberIsJudgedWithinTimeoutPlusOneInterval) {
  // Heartbeats every 200 ms, the last answer just before the kill: the
  // verdict comes by the first tick a failure timeout later (1.2 s at
  // most), leaving the rest of the 3 s bound for gossip and downing.
  heartbeat_watch w(1000ms, 500ms);
  w.watch({a}, t0);
  auto kill = t0 + 1010ms;
  auto t = t0;
  for (; t <= kill; t += 200ms) {
    w.heard(a, t);
    EXPECT_TRUE(reachable(w, a, t));
  }
  while (reachable(w, a, t))
    t += 200ms;
  EXPECT_LE(t - kill, 1200ms);
  EXPECT_GE(t - kill, 1000ms - 200ms);
}

TEST(HeartbeatWatch, AfterItsOwnStallAMonitorJudgesNobody) {
  // This node was frozen for 3 s: every watched member looks silent, but
  // the silence is its own. It starts their clocks afresh.
  heartbeat_watch w(1000ms, 500ms);
  w.watch({a, b}, t0);
  w.heard(a, t0 + 200ms);
  w.heard(b, t0 + 200ms);
  EXPECT_TRUE(reachable(w, a, t0 + 200ms));
  auto woke = t0 + 3200ms;
  for (auto& v : w.judge(woke))
    EXPECT_TRUE(v.reachable) << v.subject.name;
  // Those that do not answer after the wake-up are judged as usual.
  w.heard(a, woke + 200ms);
  EXPECT_TRUE(reachable(w, a, woke + 400ms));
  EXPECT_TRUE(reachable(w, b, woke + 800ms));
  EXPECT_TRUE(reachable(w, a, woke + 1000ms));
  EXPECT_FALSE(reachable(w, b, woke + 1000ms));
}

TEST(HeartbeatWatch, MembersNoLongerWatchedAreDropped) {
  heartbeat_watch w(1000ms, 500ms);
  w.watch({a, b}, t0);
  w.watch({b}, t0 + 100ms);
  auto vs = w.judge(t0 + 200ms);
  ASSERT_EQ(vs.size(), 1u);
  EXPECT_EQ(vs[0].subject, b);
  w.heard(a, t0 + 300ms); // ignored
  EXPECT_EQ(w.subjects().size(), 1u);
}
