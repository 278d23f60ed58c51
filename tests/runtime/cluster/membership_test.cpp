// SPDX-License-Identifier: Apache-2.0
// One node's membership (cluster/membership.hpp), five of them on virtual
// time with an in-test network that delivers at once: a kill, a freeze
// shorter and longer than the verdict, a restarted seed, forgetting.
#include "cluster/membership.hpp"

#include <memory>
#include <random>

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using namespace troupe::cluster;

namespace {

using time_point = membership::time_point;
const time_point t0 = time_point{} + 1h;

/// Nodes n0..n{n-1}, one step per heartbeat interval: each running node
/// ticks, its heartbeats are answered at once, then it gossips (a full
/// push-pull) with two random members (the seed n0, or n1, when alone).
struct harness {
  membership_settings cfg;
  std::vector<std::unique_ptr<membership>> nodes;
  std::vector<bool> dead;
  std::vector<time_point> frozen_until;
  std::vector<size_t> fenced;
  std::vector<member_key> downed;
  time_point now = t0;
  std::mt19937_64 rng{19};

  explicit harness(size_t n, membership_settings c = {})
      : cfg(c) {
    for (size_t i = 0; i < n; ++i)
      add(i, 1);
    for (int i = 0; i < 10; ++i)
      step();
  }

  void add(size_t i, uint64_t incarnation) {
    auto m = std::make_unique<membership>(
        member_key{"n" + std::to_string(i), incarnation},
        "h:" + std::to_string(i), cfg, now);
    if (i < nodes.size()) {
      nodes[i] = std::move(m);
      dead[i] = false;
      return;
    }
    nodes.push_back(std::move(m));
    dead.push_back(false);
    frozen_until.push_back(now);
  }

  bool running(size_t i) const {
    return !dead[i] && frozen_until[i] <= now;
  }

  static size_t index(const std::string& name) {
    return std::stoul(name.substr(1));
  }

  void exchange(size_t i, size_t j) {
    std::vector<member_record> xs;
    for (auto& kvp : nodes[i]->view().records())
      xs.push_back(kvp.second);
    nodes[j]->merge(xs, now);
    std::vector<member_record> ys;
    for (auto& kvp : nodes[j]->view().records())
      ys.push_back(kvp.second);
    nodes[i]->merge(ys, now);
  }

  void step() {
    now += cfg.heartbeat_interval;
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (!running(i))
        continue;
      auto r = nodes[i]->tick(now);
      if (r.fenced) { // it starts over as a new incarnation
        fenced.push_back(i);
        add(i, nodes[i]->self().incarnation + 1);
        continue;
      }
      for (auto& d : r.downed)
        downed.push_back(d);
      for (auto& x : r.heartbeat_to)
        if (running(index(x.name)))
          nodes[i]->heard(nodes[index(x.name)]->self(), now);
      auto partners = nodes[i]->gossip_partners(2, rng());
      if (partners.empty())
        partners.push_back({i == 0 ? "n1" : "n0", 0});
      for (auto& p : partners)
        if (running(index(p.name)))
          exchange(i, index(p.name));
    }
  }

  void run(std::chrono::milliseconds d) {
    auto until = now + d;
    while (now < until)
      step();
  }

  /// The status node i's view holds of `name` (removed if none).
  gossip_status status(size_t i, const std::string& name) const {
    auto r = nodes[i]->view().find(name);
    return r ? r->status : gossip_status::removed;
  }

  bool everyone_sees(const std::string& name, gossip_status s) const {
    for (size_t i = 0; i < nodes.size(); ++i)
      if (running(i) && nodes[i]->self().name != name && status(i, name) != s)
        return false;
    return true;
  }
};

} // namespace

TEST(Membership, AnIdleClusterStaysUp) {
  harness h(5);
  h.run(60s);
  EXPECT_TRUE(h.downed.empty());
  EXPECT_TRUE(h.fenced.empty());
  for (size_t i = 0; i < 5; ++i)
    EXPECT_TRUE(h.everyone_sees("n" + std::to_string(i), gossip_status::up));
}

TEST(Membership, AKilledMemberIsDownEverywhereWithinTheBound) {
  harness h(5);
  h.dead[3] = true;
  auto killed = h.now;
  while (!h.everyone_sees("n3", gossip_status::down) && h.now - killed < 10s)
    h.step();
  EXPECT_LE(h.now - killed, 3s);
  EXPECT_FALSE(h.downed.empty());
  for (auto& d : h.downed)
    EXPECT_EQ(d.name, "n3");
  EXPECT_TRUE(h.fenced.empty());
}

TEST(Membership, AFrozenMemberBackBeforeTheVerdictStaysUp) {
  harness h(5);
  h.frozen_until[2] = h.now + 1s; // its monitors claim it, then take it back
  h.run(10s);
  EXPECT_TRUE(h.downed.empty());
  EXPECT_TRUE(h.fenced.empty());
  EXPECT_TRUE(h.everyone_sees("n2", gossip_status::up));
  for (size_t i = 0; i < 5; ++i)
    EXPECT_TRUE(h.nodes[i]->unreachable().empty()) << i;
}

TEST(Membership, AFrozenMemberBackAfterTheVerdictFencesItself) {
  harness h(5);
  auto frozen = h.now;
  h.frozen_until[2] = h.now + 4s;
  while (!h.everyone_sees("n2", gossip_status::down) && h.now - frozen < 10s)
    h.step();
  EXPECT_LE(h.now - frozen, 3s);
  h.run(std::chrono::duration_cast<std::chrono::milliseconds>(frozen + 5s -
                                                              h.now));
  ASSERT_EQ(h.fenced, std::vector<size_t>{2});
  // Its own stall did not make it claim anybody.
  for (auto& d : h.downed)
    EXPECT_EQ(d.name, "n2");
}

TEST(Membership, ARestartedSeedReplacesItsOldRecord) {
  harness h(5);
  h.dead[0] = true;
  h.run(4s);
  EXPECT_TRUE(h.everyone_sees("n0", gossip_status::down));
  h.add(0, 2); // a new process: it knows only itself
  h.run(2s);
  EXPECT_TRUE(h.everyone_sees("n0", gossip_status::up));
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(h.nodes[i]->view().find("n0")->incarnation, 2u);
    EXPECT_EQ(h.nodes[i]->view().digest(), h.nodes[0]->view().digest());
  }
  EXPECT_TRUE(h.fenced.empty());
}

TEST(Membership, LeftMembersBecomeTombstonesThenAreDropped) {
  membership_settings cfg;
  cfg.forget_after = 2s;
  cfg.tombstone_ttl = 5s;
  harness h(5, cfg);
  h.nodes[4]->leave(false);
  h.run(1s);
  EXPECT_TRUE(h.everyone_sees("n4", gossip_status::leaving));
  h.nodes[4]->leave(true);
  h.run(1s);
  h.dead[4] = true;
  EXPECT_TRUE(h.everyone_sees("n4", gossip_status::left));
  h.run(2200ms);
  EXPECT_TRUE(h.everyone_sees("n4", gossip_status::removed));
  EXPECT_NE(h.nodes[0]->view().find("n4"), nullptr); // a tombstone
  h.run(6s);
  for (size_t i = 0; i < 4; ++i)
    EXPECT_EQ(h.nodes[i]->view().find("n4"), nullptr) << i;
  EXPECT_TRUE(h.downed.empty());
}
