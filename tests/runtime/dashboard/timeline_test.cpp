// SPDX-License-Identifier: Apache-2.0
// The dashboard's member timeline and an actor's failure history, from a
// cluster snapshot to the live state and its deltas: entries keyed by
// observer and number, kept when their observer goes down, bounded.
#include "dashboard/event_log.hpp"
#include "dashboard/state.hpp"

#include <gtest/gtest.h>

#include "troupe/wire/cluster.pb.h"
#include "troupe/wire/introspect.pb.h"

using nlohmann::json;

namespace {

troupe::wire::NodeSnapshot* add_node(troupe::wire::ClusterSnapshot& snap,
                                     const std::string& name,
                                     bool reachable) {
  auto* n = snap.add_nodes();
  n->mutable_member()->set_name(name);
  n->set_reachable(reachable);
  return n;
}

void add_change(troupe::wire::NodeSnapshot* n, uint64_t seq, int64_t ms,
                const std::string& who, const std::string& change,
                int64_t silent_ms = -1) {
  auto* x = n->add_member_changes();
  x->set_seq(seq);
  x->set_unix_ms(ms);
  x->set_name(who);
  x->set_incarnation(7);
  x->set_change(change);
  x->set_why("because");
  x->set_silent_ms(silent_ms);
}

} // namespace

TEST(DashboardTimeline, EachObserversChangesAreKeyedByObserverAndNumber) {
  troupe::wire::ClusterSnapshot snap;
  auto* n1 = add_node(snap, "n1", true);
  add_change(n1, 1, 1000, "n2", "joined");
  add_change(n1, 12, 2000, "n2", "down", 812);
  auto* n3 = add_node(snap, "n3", true);
  add_change(n3, 3, 2001, "n2", "down", 805);
  auto state = troupe::dashboard::to_state(snap, false);
  auto& t = state["timeline"];
  ASSERT_EQ(t.size(), 3u) << t.dump();
  EXPECT_EQ(troupe::dashboard::timeline_key("n1", 12), "n1:00000012");
  auto& down = t["n1:00000012"];
  EXPECT_EQ(down["observer"], "n1");
  EXPECT_EQ(down["member"], "n2");
  EXPECT_EQ(down["change"], "down");
  EXPECT_EQ(down["silent_ms"], 812);
  EXPECT_EQ(down["incarnation"], 7);
  // Keys of one observer sort as their numbers do (zero-padded).
  EXPECT_LT(troupe::dashboard::timeline_key("n1", 9),
            troupe::dashboard::timeline_key("n1", 10));
}

TEST(DashboardTimeline, WhatADownedObserverSawStaysAndTheOldestGoBeyondTheBound) {
  troupe::wire::ClusterSnapshot before_snap;
  auto* n1 = add_node(before_snap, "n1", true);
  add_change(n1, 1, 1000, "n2", "joined");
  auto* n2 = add_node(before_snap, "n2", true);
  add_change(n2, 1, 900, "n1", "joined");
  auto before = troupe::dashboard::to_state(before_snap, false);

  troupe::wire::ClusterSnapshot after_snap;
  n1 = add_node(after_snap, "n1", true);
  // n1's ring dropped its first entry: that one goes.
  add_change(n1, 2, 3000, "n2", "down", 200);
  add_node(after_snap, "n2", false); // killed: says nothing
  auto after = troupe::dashboard::to_state(after_snap, false);
  troupe::dashboard::carry_timeline(before, after);
  auto& t = after["timeline"];
  EXPECT_TRUE(t.contains("n2:00000001")) << "n2's own record stays";
  EXPECT_FALSE(t.contains("n1:00000001")) << "n1 answers: its ring rules";
  EXPECT_TRUE(t.contains("n1:00000002"));

  troupe::dashboard::carry_timeline(before, after, 1);
  EXPECT_EQ(after["timeline"].size(), 1u);
  EXPECT_TRUE(after["timeline"].contains("n1:00000002")) << "the newest";
}

TEST(DashboardTimeline, DeltasCarryTimelineChangesOnlyWhenThereAreSome) {
  troupe::wire::ClusterSnapshot snap;
  auto* n1 = add_node(snap, "n1", true);
  add_change(n1, 1, 1000, "n2", "joined");
  auto a = troupe::dashboard::to_state(snap, false);
  add_change(n1, 2, 2000, "n2", "left");
  auto b = troupe::dashboard::to_state(snap, false);
  auto d = troupe::dashboard::diff(a, b);
  ASSERT_TRUE(d.contains("timeline"));
  EXPECT_TRUE(d["timeline"].contains("n1:00000002"));
  EXPECT_FALSE(d.contains("timeline_removed"));
  EXPECT_FALSE(troupe::dashboard::delta_empty(d));
  auto applied = a;
  troupe::dashboard::apply(applied, d);
  EXPECT_EQ(applied, b);
  EXPECT_FALSE(troupe::dashboard::diff(b, b).contains("timeline"));

  // The event log carries a downed observer's entries into its state.
  troupe::dashboard::event_log log{8};
  log.record(b, 1);
  troupe::wire::ClusterSnapshot gone;
  add_node(gone, "n1", false);
  log.record(troupe::dashboard::to_state(gone, false), 2);
  EXPECT_EQ(log.state()["timeline"], b["timeline"]);
}

TEST(DashboardTimeline, AnActorsFailuresComeWithWhatItsSupervisorDecided) {
  troupe::wire::ClusterSnapshot snap;
  auto* n1 = add_node(snap, "n1", true);
  auto* a = n1->add_actors();
  a->set_path("/root/w");
  auto* f = a->add_failures();
  f->set_unix_ms(1234);
  f->set_failure("handler_failed: boom on @i32");
  f->set_decision("restart in place");
  auto state = troupe::dashboard::to_state(snap, false);
  auto& failures = state["actors"]["n1:/root/w"]["failures"];
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0]["ms"], 1234);
  EXPECT_EQ(failures[0]["decision"], "restart in place");
  auto* quiet = n1->add_actors();
  quiet->set_path("/root/q");
  state = troupe::dashboard::to_state(snap, false);
  EXPECT_FALSE(state["actors"]["n1:/root/q"].contains("failures"))
    << "no empty list per actor";
}
