// SPDX-License-Identifier: Apache-2.0
// The gossiped membership (cluster/gossip_view.hpp): the join's laws on
// generated views, restarts, tombstones, late gossip, digests and deltas.
#include "cluster/gossip_view.hpp"

#include <random>

#include <gtest/gtest.h>

using namespace troupe::cluster;

namespace {

member_record rec(std::string name, uint64_t inc,
                  gossip_status s = gossip_status::up) {
  member_record r;
  r.name = std::move(name);
  r.incarnation = inc;
  r.status = s;
  r.endpoint = "127.0.0.1:" + std::to_string(inc);
  return r;
}

/// A random view over six names, a few incarnations, every status, and
/// observations by random observers with random versions.
gossip_view generate(std::mt19937_64& rng) {
  static const char* names[] = {"a", "b", "c", "d", "e", "f"};
  gossip_view v;
  for (auto name : names) {
    if (rng() % 4 == 0)
      continue;
    auto r = rec(name, 1 + rng() % 3, static_cast<gossip_status>(rng() % 5));
    auto n = rng() % 4;
    for (size_t i = 0; i < n; ++i)
      r.observations[names[rng() % 6]] =
          observation{rng() % 2 == 0, 1 + rng() % 2, rng() % 4};
    v.merge(r);
  }
  return v;
}

gossip_view merged(gossip_view x, const gossip_view& y) {
  x.merge(y);
  return x;
}

/// One push-pull exchange of digests and deltas between two views.
void exchange(gossip_view& x, gossip_view& y) {
  auto d = x.delta_for(y.digests());
  for (auto& r : d.records)
    y.merge(r);
  for (auto& r : y.records_for(d.wanted))
    x.merge(r);
}

} // namespace

TEST(GossipView, TheJoinIsCommutativeAssociativeAndIdempotent) {
  std::mt19937_64 rng(19);
  for (int i = 0; i < 500; ++i) {
    auto a = generate(rng);
    auto b = generate(rng);
    auto c = generate(rng);
    EXPECT_EQ(merged(a, b), merged(b, a)) << i;
    EXPECT_EQ(merged(merged(a, b), c), merged(a, merged(b, c))) << i;
    EXPECT_EQ(merged(a, a), a) << i;
    EXPECT_FALSE(gossip_view(a).merge(a)) << i;
    // Equal views have equal digests, whatever way they were reached.
    EXPECT_EQ(merged(merged(a, b), c).digest(),
              merged(c, merged(b, a)).digest())
        << i;
  }
}

TEST(GossipView, AHigherIncarnationReplacesTheWholeRecord) {
  // A seed restarted: same name, a new process, nothing of the old one
  // (its old status and observations) carried over.
  gossip_view v;
  auto old = rec("seed", 5, gossip_status::down);
  old.observations["n2"] = {true, 1, 3};
  v.merge(old);
  EXPECT_TRUE(v.merge(rec("seed", 9)));
  auto r = v.find("seed");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->incarnation, 9u);
  EXPECT_EQ(r->status, gossip_status::up);
  EXPECT_TRUE(r->observations.empty());
  EXPECT_EQ(r->endpoint, "127.0.0.1:9");
}

TEST(GossipView, LateGossipOfAnOldIncarnationChangesNothing) {
  gossip_view v;
  v.merge(rec("n1", 9));
  auto digest = v.digest();
  auto late = rec("n1", 5, gossip_status::down);
  late.observations["n2"] = {true, 1, 8};
  EXPECT_FALSE(v.merge(late));
  EXPECT_EQ(v.digest(), digest);
  EXPECT_EQ(v.find("n1")->status, gossip_status::up);
}

TEST(GossipView, AtOneIncarnationTheLaterStatusAndObservationsWin) {
  gossip_view v;
  auto r = rec("n1", 3);
  r.observations["n2"] = {true, 1, 1};
  v.merge(r);
  auto s = rec("n1", 3, gossip_status::leaving);
  s.observations["n2"] = {false, 1, 2}; // n2 took its claim back
  s.observations["n3"] = {true, 4, 1};
  v.merge(s);
  v.merge(r); // the first again, late: nothing changes
  auto x = v.find("n1");
  EXPECT_EQ(x->status, gossip_status::leaving);
  EXPECT_FALSE(x->observations.at("n2").unreachable);
  EXPECT_TRUE(x->observations.at("n3").unreachable);
  EXPECT_TRUE(v.merge(rec("n1", 3, gossip_status::down)));
  EXPECT_FALSE(v.merge(rec("n1", 3, gossip_status::left)));
  EXPECT_EQ(v.find("n1")->status, gossip_status::down);
}

TEST(GossipView, ATombstoneKeepsItsIncarnationOut) {
  gossip_view v;
  v.merge(rec("n1", 3, gossip_status::removed));
  auto back = rec("n1", 3);
  back.observations["n2"] = {false, 1, 1};
  EXPECT_FALSE(v.merge(back));
  EXPECT_EQ(v.find("n1")->status, gossip_status::removed);
  EXPECT_TRUE(v.find("n1")->observations.empty());
  // The member's next incarnation is welcome.
  EXPECT_TRUE(v.merge(rec("n1", 4)));
  EXPECT_EQ(v.find("n1")->status, gossip_status::up);
}

TEST(GossipView, ErasingATombstoneKeepsTheDigestExact) {
  gossip_view v;
  v.merge(rec("n1", 1));
  auto alone = v.digest();
  v.merge(rec("n2", 1, gossip_status::removed));
  EXPECT_NE(v.digest(), alone);
  v.erase("n2");
  v.erase("nobody");
  EXPECT_EQ(v.digest(), alone);
  EXPECT_EQ(v.find("n2"), nullptr);
}

TEST(GossipView, ARoundSendsOnlyTheRecordsThatDiffer) {
  gossip_view x;
  gossip_view y;
  for (int i = 0; i < 100; ++i) {
    x.merge(rec("n" + std::to_string(i), 1));
    y.merge(rec("n" + std::to_string(i), 1));
  }
  EXPECT_EQ(x.digest(), y.digest());
  EXPECT_TRUE(x.delta_for(y.digests()).records.empty());
  x.merge(rec("n7", 1, gossip_status::down)); // x knows n7 went down
  y.merge(rec("n200", 1));                    // y met a newcomer
  EXPECT_NE(x.digest(), y.digest());
  auto d = x.delta_for(y.digests());
  ASSERT_EQ(d.records.size(), 1u);
  EXPECT_EQ(d.records[0].name, "n7");
  EXPECT_EQ(d.wanted, (std::vector<std::string>{"n200", "n7"}));
  exchange(x, y);
  EXPECT_EQ(x, y);
  EXPECT_EQ(x.digest(), y.digest());
}

TEST(GossipView, ExchangesConvergeGeneratedViews) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100; ++i) {
    auto a = generate(rng);
    auto b = generate(rng);
    auto both = merged(a, b);
    exchange(a, b);
    EXPECT_EQ(a, both) << i;
    EXPECT_EQ(b, both) << i;
  }
}
