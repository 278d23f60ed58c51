// SPDX-License-Identifier: Apache-2.0
// Downing over gossiped reachability (cluster/gossip_downing.hpp) on
// made-up views: a quorum of monitors, keep-majority, ties, partitions.
#include "cluster/gossip_downing.hpp"

#include <algorithm>

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using namespace troupe::cluster;

namespace {

const downing_settings cfg; // 400 ms, 3 s when unsettled

gossip_view cluster_of(size_t n) {
  gossip_view v;
  for (size_t i = 0; i < n; ++i) {
    member_record r;
    r.name = "n" + std::to_string(10 + i); // n10, n11, ...: sorted by name
    r.incarnation = 1;
    v.merge(r);
  }
  return v;
}

void claim(gossip_view& v, const std::string& observer,
           const std::string& subject, bool unreachable = true,
           uint64_t seq = 1) {
  member_record r;
  r.name = subject;
  r.incarnation = v.find(subject)->incarnation;
  r.observations[observer] = {unreachable, v.find(observer)->incarnation, seq};
  v.merge(r);
}

void set_status(gossip_view& v, const std::string& name, gossip_status s) {
  member_record r;
  r.name = name;
  r.incarnation = v.find(name)->incarnation;
  r.status = s;
  v.merge(r);
}

struct judged {
  downing_decision d;
  std::set<std::string> unreachable;
};

judged judge(const gossip_view& v, const std::string& self,
             std::chrono::milliseconds stable_for = 10s) {
  monitor_ring ring(ring_members(v), 5);
  auto u = unreachable_members(v);
  return {decide_downs(v, self, ring, u, stable_for, cfg), u};
}

std::vector<std::string> names(const std::vector<member_key>& xs) {
  std::vector<std::string> result;
  for (auto& x : xs)
    result.push_back(x.name);
  std::sort(result.begin(), result.end());
  return result;
}

} // namespace

TEST(GossipDowning, NothingUnreachableNothingToDo) {
  auto v = cluster_of(10);
  EXPECT_EQ(judge(v, "n10").d.what, downing_decision::none);
  EXPECT_EQ(judge(cluster_of(1), "n10").d.what, downing_decision::none);
}

TEST(GossipDowning, AQuorumOfItsMonitorsDownsAMember) {
  auto v = cluster_of(10);
  monitor_ring ring(ring_members(v), 5);
  auto monitors = ring.monitors_of("n15");
  ASSERT_EQ(monitors.size(), 5u);
  claim(v, monitors[0].name, "n15");
  claim(v, monitors[1].name, "n15");
  // Two of five: unreachable (no longer counted live), not yet downed.
  auto two = judge(v, "n10");
  EXPECT_EQ(two.unreachable, std::set<std::string>{"n15"});
  EXPECT_EQ(two.d.what, downing_decision::down);
  EXPECT_TRUE(two.d.members.empty());
  claim(v, monitors[2].name, "n15");
  auto three = judge(v, "n10");
  EXPECT_EQ(names(three.d.members), std::vector<std::string>{"n15"});
  // Every node with this view decides the same.
  EXPECT_EQ(names(judge(v, "n19").d.members), std::vector<std::string>{"n15"});
}

TEST(GossipDowning, ClaimsOfNonMonitorsDoNotMakeAQuorum) {
  auto v = cluster_of(10);
  monitor_ring ring(ring_members(v), 5);
  auto monitors = ring.monitors_of("n15");
  for (auto& m : ring.members())
    if (m.name != "n15" &&
        std::find(monitors.begin(), monitors.end(), m) == monitors.end())
      claim(v, m.name, "n15");
  claim(v, monitors[0].name, "n15"); // one flaky monitor
  EXPECT_TRUE(judge(v, "n10").d.members.empty());
}

TEST(GossipDowning, ItWaitsUntilTheUnreachableSetIsStable) {
  auto v = cluster_of(10);
  monitor_ring ring(ring_members(v), 5);
  for (auto& m : ring.monitors_of("n12"))
    claim(v, m.name, "n12");
  EXPECT_EQ(judge(v, "n10", 399ms).d.what, downing_decision::wait);
  EXPECT_EQ(names(judge(v, "n10", 400ms).d.members),
            std::vector<std::string>{"n12"});
}

TEST(GossipDowning, ATakenBackClaimNoLongerCounts) {
  // A frozen node came back before it was downed: its monitors hear it
  // again and post "reachable" with a later version.
  auto v = cluster_of(6);
  monitor_ring ring(ring_members(v), 5);
  for (auto& m : ring.monitors_of("n13"))
    claim(v, m.name, "n13", true, 1);
  EXPECT_FALSE(judge(v, "n10").unreachable.empty());
  for (auto& m : ring.monitors_of("n13"))
    claim(v, m.name, "n13", false, 2);
  EXPECT_EQ(judge(v, "n10").d.what, downing_decision::none);
  // A late copy of the old claims changes nothing.
  for (auto& m : ring.monitors_of("n13"))
    claim(v, m.name, "n13", true, 1);
  EXPECT_EQ(judge(v, "n10").d.what, downing_decision::none);
}

TEST(GossipDowning, AMonitorThatDiedNoLongerCounts) {
  auto v = cluster_of(10);
  monitor_ring ring(ring_members(v), 5);
  auto monitors = ring.monitors_of("n15");
  auto dead = monitors[0].name;
  // The dead monitor's last claims (it may have judged everyone on its way
  // down) do not count once it is down; nor while it is unreachable.
  claim(v, dead, "n15");
  claim(v, monitors[1].name, "n15");
  claim(v, monitors[2].name, "n15");
  for (auto& m : ring.monitors_of(dead))
    claim(v, m.name, dead);
  std::string self;
  for (auto& m : ring.members())
    if (m.name != dead && m.name != "n15")
      self = m.name;
  auto j = judge(v, self);
  EXPECT_EQ(j.unreachable.count(dead), 1u);
  // n15's reachable monitors are the four live ones plus the next member:
  // two claims of five are no quorum.
  EXPECT_EQ(
      std::count(j.d.members.begin(), j.d.members.end(), member_key{"n15", 1}),
      0);
  set_status(v, dead, gossip_status::down);
  auto after = judge(v, self);
  EXPECT_EQ(after.unreachable, std::set<std::string>{"n15"});
  EXPECT_TRUE(after.d.members.empty());
  claim(v, monitors[3].name, "n15");
  EXPECT_EQ(names(judge(v, self).d.members), std::vector<std::string>{"n15"});
}

TEST(GossipDowning, ClaimsOfAnOldIncarnationDoNotCount) {
  auto v = cluster_of(3);
  claim(v, "n10", "n12");
  claim(v, "n11", "n12");
  member_record restarted;
  restarted.name = "n11";
  restarted.incarnation = 2; // n11 restarted since it claimed
  v.merge(restarted);
  auto j = judge(v, "n10");
  EXPECT_EQ(j.unreachable, std::set<std::string>{"n12"});
  EXPECT_TRUE(j.d.members.empty()); // one claim of two monitors
}

TEST(GossipDowning, TwoNodesTheTieGoesToTheSmallestName) {
  auto v = cluster_of(2);
  auto w = v;
  claim(v, "n10", "n11"); // n10's side: n11 is silent
  claim(w, "n11", "n10"); // n11's side: n10 is silent
  EXPECT_EQ(names(judge(v, "n10").d.members), std::vector<std::string>{"n11"});
  EXPECT_EQ(judge(w, "n11").d.what, downing_decision::down_self);
}

TEST(GossipDowning, ThreeNodesTheOneCutOffDownsItself) {
  auto v = cluster_of(3);
  auto w = v;
  claim(v, "n10", "n12");
  claim(v, "n11", "n12");
  EXPECT_EQ(names(judge(v, "n10").d.members), std::vector<std::string>{"n12"});
  claim(w, "n12", "n10");
  claim(w, "n12", "n11");
  EXPECT_EQ(judge(w, "n12").d.what, downing_decision::down_self);
}

TEST(GossipDowning, ANodeCutOffAloneDownsNobody) {
  // In a large cluster a node cut off alone claims its five watched
  // members, but it is no quorum of their monitors: it downs nobody while
  // the unreachable set grows (it then finds itself in the minority).
  auto v = cluster_of(40);
  monitor_ring ring(ring_members(v), 5);
  auto lone = ring.members()[0].name;
  for (auto& m : ring.watched_by(lone))
    claim(v, lone, m.name);
  auto j = judge(v, lone);
  EXPECT_EQ(j.d.what, downing_decision::down);
  EXPECT_TRUE(j.d.members.empty());
}

TEST(GossipDowning, APartitionIntoHalvesLeavesOneSide) {
  auto v = cluster_of(20);
  std::set<std::string> a;
  for (size_t i = 0; i < 20; i += 2)
    a.insert("n" + std::to_string(10 + i)); // n10 (smallest) is in a
  auto seen_from = [&](bool in_a) {
    // Each side's view once it settled: every member of the other side
    // claimed by its monitors on this side (the ring skipping them).
    auto w = v;
    std::set<std::string> other;
    for (auto& [name, r] : v.records())
      if ((a.count(name) != 0) != in_a)
        other.insert(name);
    monitor_ring ring(ring_members(w), 5);
    for (auto& s : other)
      for (auto& m : ring.monitors_of(s, other))
        if (other.count(m.name) == 0)
          claim(w, m.name, s);
    return std::make_pair(w, other);
  };
  auto [va, b] = seen_from(true);
  auto ja = judge(va, "n10");
  EXPECT_EQ(ja.unreachable, b);
  EXPECT_EQ(ja.d.what, downing_decision::down);
  EXPECT_EQ(ja.d.members.size(), 10u);
  auto [vb, a2] = seen_from(false);
  EXPECT_EQ(a2, a);
  EXPECT_EQ(judge(vb, "n11").d.what, downing_decision::down_self);
  // Before it settles (claims of a first wave only) each side waits the
  // longer time: the members whose monitors are all lost are not known.
  auto first_wave = v;
  monitor_ring plain(ring_members(v), 5);
  for (auto& s : b)
    for (auto& m : plain.monitors_of(s))
      if (a.count(m.name) != 0)
        claim(first_wave, m.name, s);
  auto u = unreachable_members(first_wave);
  EXPECT_TRUE(unsettled(plain, u, "n10"));
  EXPECT_EQ(judge(first_wave, "n10", 2s).d.what, downing_decision::wait);
}
