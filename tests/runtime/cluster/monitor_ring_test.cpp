// SPDX-License-Identifier: Apache-2.0
// Who watches whom (cluster/monitor_ring.hpp) on made-up views: k monitors
// each, the same answer from any order, few changes on a join or a leave.
#include "cluster/monitor_ring.hpp"

#include <algorithm>
#include <random>
#include <set>
#include <utility>

#include <gtest/gtest.h>

using namespace troupe::cluster;

namespace {

std::vector<member_key> members(size_t n, uint64_t incarnation = 7) {
  std::vector<member_key> xs;
  for (size_t i = 0; i < n; ++i)
    xs.push_back({"n" + std::to_string(i), incarnation + i});
  return xs;
}

std::set<std::pair<std::string, std::string>>
pairs(const monitor_ring& ring, const std::set<std::string>& u = {}) {
  std::set<std::pair<std::string, std::string>> xs;
  for (auto& m : ring.members())
    for (auto& s : ring.watched_by(m.name, u))
      xs.emplace(m.name, s.name);
  return xs;
}

size_t changed(const std::set<std::pair<std::string, std::string>>& x,
               const std::set<std::pair<std::string, std::string>>& y) {
  std::vector<std::pair<std::string, std::string>> d;
  std::set_symmetric_difference(x.begin(), x.end(), y.begin(), y.end(),
                                std::back_inserter(d));
  return d.size();
}

} // namespace

TEST(MonitorRing, PositionsDependOnNameAndIncarnationOnly) {
  EXPECT_EQ(ring_position("n1", 5), ring_position("n1", 5));
  EXPECT_NE(ring_position("n1", 5), ring_position("n1", 6));
  EXPECT_NE(ring_position("n1", 5), ring_position("n2", 5));
  // Fixed across builds and platforms: nodes built differently agree.
  EXPECT_EQ(ring_position("", 0), ring_position(std::string{}, 0));
}

TEST(MonitorRing, EveryMemberIsWatchedByKOthers) {
  monitor_ring ring(members(20), 5);
  for (auto& m : ring.members()) {
    auto watched = ring.watched_by(m.name);
    auto monitors = ring.monitors_of(m.name);
    EXPECT_EQ(watched.size(), 5u);
    EXPECT_EQ(monitors.size(), 5u);
    for (auto& x : monitors) {
      EXPECT_NE(x.name, m.name);
      auto w = ring.watched_by(x.name);
      EXPECT_NE(std::find(w.begin(), w.end(), m), w.end());
    }
  }
}

TEST(MonitorRing, TheSameViewGivesTheSameAssignmentInAnyOrder) {
  auto xs = members(30);
  monitor_ring a(xs, 5);
  std::mt19937 rng(42);
  std::shuffle(xs.begin(), xs.end(), rng);
  monitor_ring b(xs, 5);
  EXPECT_EQ(pairs(a), pairs(b));
}

TEST(MonitorRing, KLargerThanTheClusterWatchesAllOthers) {
  monitor_ring ring(members(3), 5);
  for (auto& m : ring.members()) {
    EXPECT_EQ(ring.watched_by(m.name).size(), 2u);
    EXPECT_EQ(ring.monitors_of(m.name).size(), 2u);
  }
}

TEST(MonitorRing, ANodeAloneWatchesNobodyAndTwoWatchEachOther) {
  monitor_ring one(members(1), 5);
  EXPECT_TRUE(one.watched_by("n0").empty());
  EXPECT_TRUE(one.monitors_of("n0").empty());
  monitor_ring two(members(2), 5);
  ASSERT_EQ(two.watched_by("n0").size(), 1u);
  EXPECT_EQ(two.watched_by("n0")[0].name, "n1");
  ASSERT_EQ(two.monitors_of("n0").size(), 1u);
  EXPECT_EQ(two.monitors_of("n0")[0].name, "n1");
  EXPECT_TRUE(two.watched_by("stranger").empty());
}

TEST(MonitorRing, AJoinOrALeaveChangesAtMostThreeKPairs) {
  // Of the n·k = 250 pairs, a newcomer adds the k it watches and the k
  // that watch it, and its k monitors each drop their farthest: 3k.
  auto xs = members(50);
  auto before = pairs(monitor_ring(xs, 5));
  auto joined = xs;
  joined.push_back({"newcomer", 1});
  EXPECT_LE(changed(before, pairs(monitor_ring(joined, 5))), 3u * 5);
  for (size_t gone : {0u, 17u, 49u}) {
    auto left = xs;
    left.erase(left.begin() + gone);
    EXPECT_LE(changed(before, pairs(monitor_ring(left, 5))), 3u * 5) << gone;
  }
  // A restart (new incarnation) moves one member: a leave and a join.
  auto restarted = xs;
  restarted[3].incarnation += 1000;
  EXPECT_LE(changed(before, pairs(monitor_ring(restarted, 5))), 6u * 5);
}

TEST(MonitorRing, UnreachableMembersAreWatchedButDoNotCountTowardsK) {
  monitor_ring ring(members(20), 5);
  auto& ms = ring.members();
  // The observer's first watched member is unreachable: it keeps watching
  // it and takes one more, so that it still watches five that answer.
  std::set<std::string> u{ms[1].name};
  auto w = ring.watched_by(ms[0].name, u);
  ASSERT_EQ(w.size(), 6u);
  EXPECT_EQ(w[0], ms[1]);
  EXPECT_EQ(w[5], ms[6]);
  // monitors_of is the reverse of watched_by for the same unreachable set.
  std::set<std::string> u2{ms[3].name, ms[4].name, ms[9].name};
  for (auto& s : ms) {
    std::set<std::string> by_monitors;
    for (auto& m : ring.monitors_of(s.name, u2))
      by_monitors.insert(m.name);
    std::set<std::string> by_watchers;
    for (auto& m : ms) {
      auto ws = ring.watched_by(m.name, u2);
      if (std::find(ws.begin(), ws.end(), s) != ws.end())
        by_watchers.insert(m.name);
    }
    EXPECT_EQ(by_monitors, by_watchers) << s.name;
    // Each member keeps five reachable monitors.
    size_t reachable = 0;
    for (auto& m : by_monitors)
      reachable += u2.count(m) == 0;
    EXPECT_EQ(reachable, 5u) << s.name;
  }
}
