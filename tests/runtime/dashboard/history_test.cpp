// SPDX-License-Identifier: Apache-2.0
// The dashboard's history on virtual time: the ring's bounds, order and
// eviction, and what history keeps of a run of snapshots (members, links,
// the busiest and the watched actors, within a bound).
#include <string>

#include <gtest/gtest.h>

#include "dashboard/history.hpp"
#include "dashboard/ring.hpp"
#include "troupe/wire/cluster.pb.h"
#include "troupe/wire/introspect.pb.h"

namespace {

using troupe::dashboard::history;
using troupe::dashboard::history_limits;
using troupe::dashboard::ring;

std::vector<int64_t> times(const ring<int>& r) {
  std::vector<int64_t> out;
  for (size_t i = 0; i < r.size(); ++i)
    out.push_back(r.at(i).ms);
  return out;
}

} // namespace

TEST(Ring, KeepsAtMostItsCapacityOldestFirst) {
  ring<int> r{3, 1'000'000};
  EXPECT_EQ(r.heap_bytes(), 0u) << "allocates at its first point";
  for (int i = 1; i <= 5; ++i)
    EXPECT_TRUE(r.push(i * 1000, i));
  EXPECT_EQ(r.size(), 3u);
  EXPECT_EQ(times(r), (std::vector<int64_t>{3000, 4000, 5000}));
  EXPECT_EQ(r.at(0).value, 3);
  EXPECT_EQ(r.at(2).value, 5);
  EXPECT_EQ(r.heap_bytes(), 3 * sizeof(ring<int>::point));
}

TEST(Ring, RefusesAPointNotLaterThanTheNewest) {
  ring<int> r{4, 1'000'000};
  EXPECT_TRUE(r.push(2000, 1));
  EXPECT_FALSE(r.push(2000, 2));
  EXPECT_FALSE(r.push(1000, 3));
  EXPECT_EQ(times(r), (std::vector<int64_t>{2000}));
  EXPECT_EQ(r.at(0).value, 1);
}

TEST(Ring, DropsPointsOlderThanItsWindowOnVirtualTime) {
  ring<int> r{100, 10'000}; // 10 s
  for (int64_t t = 0; t <= 10'000; t += 1000)
    r.push(t, 0);
  EXPECT_EQ(r.size(), 11u); // 0..10 s: all within 10 s of the newest
  r.push(15'500, 0);        // a gap: 0..5 s are now too old
  EXPECT_EQ(times(r),
            (std::vector<int64_t>{6000, 7000, 8000, 9000, 10'000, 15'500}));
  r.evict(30'000); // time passed without a point
  EXPECT_TRUE(r.empty());
  // It fills again after wrapping, in order.
  for (int64_t t = 40'000; t < 40'000 + 150 * 50; t += 50)
    r.push(t, 1);
  EXPECT_EQ(r.size(), 100u);
  EXPECT_EQ(r.at(0).ms, 40'000 + 50 * 50);
  for (size_t i = 1; i < r.size(); ++i)
    EXPECT_LT(r.at(i - 1).ms, r.at(i).ms);
}

namespace {

// A cluster of member "n1" (with a direct link to "n2") and "n2"
// (unreachable), n1 with actors a0..a(count-1) of rate i and mailbox
// count-i.
troupe::wire::ClusterSnapshot cluster(int count, uint64_t frames,
                                      uint64_t dead_letters) {
  troupe::wire::ClusterSnapshot snap;
  auto* n1 = snap.add_nodes();
  n1->mutable_member()->set_name("n1");
  n1->set_reachable(true);
  n1->set_dead_letters(dead_letters);
  auto* l = n1->add_links();
  l->set_peer("n2");
  l->set_frames_out(frames);
  l->set_bytes_out(frames * 100);
  for (int i = 0; i < count; ++i) {
    auto* a = n1->add_actors();
    a->set_path("/root/a" + std::to_string(i));
    a->set_restarts(1);
    a->mutable_figures()->set_msgs_per_sec(i);
    a->mutable_figures()->set_mailbox(static_cast<uint64_t>(count - i));
  }
  auto* n2 = snap.add_nodes();
  n2->mutable_member()->set_name("n2");
  n2->set_reachable(false);
  return snap;
}

} // namespace

TEST(History, KeepsMemberTotalsAndLinkRatesPerSample) {
  history h;
  h.record(1'000'000, cluster(4, 100, 0));
  h.record(1'002'000, cluster(4, 300, 2)); // 200 frames in 2 s
  auto j = h.to_json(false);
  EXPECT_FALSE(j.contains("actors"));
  auto& n1 = j["nodes"]["n1"];
  EXPECT_EQ(n1["ms"], (nlohmann::json{1'000'000, 1'002'000}));
  EXPECT_EQ(n1["msgs_per_sec"][0], 6.0); // 0 + 1 + 2 + 3
  EXPECT_EQ(n1["mailbox"][0], 10.0);     // 4 + 3 + 2 + 1
  EXPECT_EQ(n1["restarts"][1], 4.0);
  EXPECT_EQ(n1["dead_letters"][1], 2.0);
  EXPECT_FALSE(j["nodes"].contains("n2")) << "unreachable: a gap";
  // The first sample has no rate yet: one point, from the second.
  auto& link = j["links"]["n1>n2"];
  EXPECT_EQ(link["ms"], (nlohmann::json{1'002'000}));
  EXPECT_EQ(link["msgs_per_sec"][0], 100.0);
  EXPECT_EQ(link["bytes_per_sec"][0], 10000.0);
}

TEST(History, KeepsTheBusiestAndTheWatchedActorsWithinItsBound) {
  history_limits lim;
  lim.top = 2;
  lim.max_actors = 5;
  history h{lim};
  int64_t t = 5'000'000;
  // Watched before it has a point: kept from the next sample on.
  h.watch("n1:/root/a50", t);
  for (int i = 0; i < 3; ++i)
    h.record(t += 1000, cluster(100, 0, 0));
  // Top 2 by rate (a99, a98), top 2 by mailbox (a0, a1), and a50.
  EXPECT_EQ(h.tracked_actors(), 5u);
  auto j = h.to_json(true);
  for (auto key : {"n1:/root/a99", "n1:/root/a98", "n1:/root/a0", "n1:/root/a1",
                   "n1:/root/a50"})
    EXPECT_EQ(j["actors"][key]["ms"].size(), 3u) << key;
  EXPECT_EQ(j["actors"]["n1:/root/a50"]["msgs_per_sec"][2], 50.0);
  EXPECT_EQ(j["actors"]["n1:/root/a50"]["mailbox"][2], 50.0);
  EXPECT_EQ(h.actor_json("n1:/root/a50")["ms"].size(), 3u);
  EXPECT_EQ(h.actor_json("n1:/root/a7")["ms"].size(), 0u);
  // One more watched: over the bound, the least recently wanted (a50,
  // watched once, before the busy ones' last sample) goes.
  h.watch("n1:/root/a7", t += 1000);
  EXPECT_EQ(h.tracked_actors(), 5u);
  EXPECT_EQ(h.actor_json("n1:/root/a50")["ms"].size(), 0u);
  h.record(t += 1000, cluster(100, 0, 0));
  EXPECT_EQ(h.actor_json("n1:/root/a7")["ms"].size(), 1u);
  // Memory: five actors' rings of 900 points, a member's and a link's.
  EXPECT_LE(h.heap_bytes(), 7 * 900 * 32u);
}

TEST(History, ForgetsWhatIsOlderThanItsWindow) {
  history_limits lim;
  lim.window_ms = 10'000;
  history h{lim};
  int64_t t = 0;
  h.watch("n1:/root/a1", t);
  for (int i = 0; i < 20; ++i)
    h.record(t += 1000, cluster(3, static_cast<uint64_t>(i), 0));
  auto j = h.to_json(true);
  EXPECT_EQ(j["nodes"]["n1"]["ms"].size(), 11u); // 10..20 s
  EXPECT_EQ(j["nodes"]["n1"]["ms"][0], 10'000);
  // The watch was at 0 s; a1 stays only while it is among the busiest
  // (3 actors, top 10: all of them are).
  EXPECT_EQ(h.tracked_actors(), 3u);
  // A member that stops answering fades out after the window.
  auto gone = cluster(0, 0, 0);
  gone.mutable_nodes(0)->set_reachable(false);
  h.record(t += 5000, gone);
  EXPECT_TRUE(h.to_json(false)["nodes"].contains("n1"));
  h.record(t += 6000, gone);
  EXPECT_FALSE(h.to_json(false)["nodes"].contains("n1"));
  EXPECT_FALSE(h.to_json(false)["links"].contains("n1>n2"));
}
