// SPDX-License-Identifier: Apache-2.0
// The live data: deltas between two states, and the event log that
// resumes a viewer from its Last-Event-ID.
#include "dashboard/event_log.hpp"
#include "dashboard/state.hpp"

#include <gtest/gtest.h>

#include "troupe/wire/cluster.pb.h"
#include "troupe/wire/introspect.pb.h"

using nlohmann::json;
using troupe::dashboard::diff;
using troupe::dashboard::event_log;

namespace {

json actor(const std::string& tree, const std::string& path, int restarts) {
  return {{"tree", tree}, {"path", path}, {"restarts", restarts}};
}

json two_actors(int restarts_b) {
  return {{"nodes", {{"n1", {{"status", "up"}}}}},
          {"actors",
           {{"n1:/root", actor("n1", "/root", 0)},
            {"n1:/root/b", actor("n1", "/root/b", restarts_b)}}}};
}

// The data of the frames in `frames` whose event is `event`.
std::vector<json> events(const std::string& frames, const std::string& event) {
  std::vector<json> out;
  size_t at = 0;
  while ((at = frames.find("event: " + event + "\ndata: ", at))
         != std::string::npos) {
    at += event.size() + 14;
    auto end = frames.find('\n', at);
    out.push_back(json::parse(frames.substr(at, end - at)));
  }
  return out;
}

} // namespace

TEST(DashboardState, DeltaTurnsOneStateIntoTheNext) {
  auto a = two_actors(0);
  auto b = two_actors(1);
  b["actors"]["n1:/root/c"] = actor("n1", "/root/c", 0);
  b["actors"].erase("n1:/root");
  b["nodes"]["n2"] = {{"status", "joining"}};
  auto d = diff(a, b);
  EXPECT_EQ(d["changed"].size(), 1u);
  EXPECT_TRUE(d["changed"].contains("n1:/root/b"));
  EXPECT_TRUE(d["added"].contains("n1:/root/c"));
  EXPECT_EQ(d["removed"], json::array({"n1:/root"}));
  EXPECT_TRUE(d["nodes"].contains("n2"));
  auto applied = a;
  troupe::dashboard::apply(applied, d); // qualified: ADL finds std::apply
  EXPECT_EQ(applied["actors"], b["actors"]);
  EXPECT_EQ(applied["nodes"], b["nodes"]);
  EXPECT_TRUE(troupe::dashboard::delta_empty(diff(b, b)));
}

TEST(DashboardState, SnapshotBecomesActorsKeyedByTreeAndPath) {
  troupe::wire::ClusterSnapshot snap;
  auto* n = snap.add_nodes();
  n->mutable_member()->set_name("n1");
  n->mutable_member()->set_status(troupe::wire::UP);
  n->set_reachable(true);
  auto* a = n->add_actors();
  a->set_path("/root/w");
  a->set_parent("/root");
  a->set_restarts(2);
  a->set_last_failure("boom \xff"); // not UTF-8: still dumps
  a->set_uptime_ms(1234);
  a->mutable_figures()->set_msgs_per_sec(3.14159);
  snap.set_answered_by("n1");
  auto* early = snap.add_nodes(); // a member table without itself yet
  early->add_actors()->set_path("/root");
  std::swap(*snap.mutable_nodes(0), *snap.mutable_nodes(1));
  auto live = troupe::dashboard::to_state(snap, false);
  EXPECT_TRUE(live["actors"].contains("n1:/root")) << live.dump();
  auto& w = live["actors"]["n1:/root/w"];
  EXPECT_EQ(w["parent"], "n1:/root");
  EXPECT_EQ(w["restarts"], 2);
  EXPECT_DOUBLE_EQ(w["msgs_per_sec"].get<double>(), 3.1);
  EXPECT_FALSE(w.contains("uptime_ms")) << "would change every sample";
  EXPECT_EQ(live["nodes"]["n1"]["status"], "up");
  EXPECT_NE(troupe::dashboard::dump(live).find("boom \xef\xbf\xbd"),
            std::string::npos);
  EXPECT_EQ(troupe::dashboard::to_state(snap, true)["actors"]["n1:/root/w"]
                                                    ["uptime_ms"],
            1234);
}

TEST(DashboardState, MarksASupervisorWhoseChildrenAreNotKnown) {
  troupe::wire::ClusterSnapshot snap;
  auto* n = snap.add_nodes();
  n->mutable_member()->set_name("n1");
  n->set_reachable(true);
  auto* root = n->add_actors();
  root->set_path("/root");
  root->set_kind(troupe::wire::ActorInfo::SUPERVISOR);
  auto* slow = n->add_actors();
  slow->set_path("/root/slow");
  slow->set_parent("/root");
  slow->set_kind(troupe::wire::ActorInfo::SUPERVISOR);
  slow->set_children_unknown(true);
  auto state = troupe::dashboard::to_state(snap, false);
  EXPECT_EQ(state["actors"]["n1:/root/slow"].value("children_unknown", false),
            true);
  // Only where it is so: the others carry no such field.
  EXPECT_FALSE(state["actors"]["n1:/root"].contains("children_unknown"));
  // It comes and goes in deltas like any other field.
  slow->set_children_unknown(false);
  auto later = troupe::dashboard::to_state(snap, false);
  auto d = diff(state, later);
  EXPECT_TRUE(d["changed"].contains("n1:/root/slow")) << d.dump();
  troupe::dashboard::apply(state, d);
  EXPECT_EQ(state, later);
}

TEST(DashboardEventLog, ResumesFromLastEventIdOrSendsTheFullState) {
  event_log log{2};
  EXPECT_FALSE(log.since(0)) << "nothing recorded yet";
  EXPECT_TRUE(log.record(two_actors(0), 1000));
  EXPECT_FALSE(log.record(two_actors(0), 2000)) << "no change, no event";
  EXPECT_TRUE(log.record(two_actors(1), 3000));
  EXPECT_TRUE(log.record(two_actors(2), 4000));
  EXPECT_EQ(log.seq(), 3u);

  auto first = log.since(0);
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->full);
  auto full = events(first->frames, "full");
  ASSERT_EQ(full.size(), 1u);
  EXPECT_EQ(full[0]["actors"]["n1:/root/b"]["restarts"], 2);

  // The frame's id names the sequence number, with this log's epoch.
  auto id_at = first->frames.find("id: ") + 4;
  auto id = first->frames.substr(id_at, first->frames.find('\n', id_at) - id_at);
  EXPECT_EQ(log.parse_id(id), 3u);
  auto epoch = id.substr(0, id.rfind('.'));
  EXPECT_EQ(log.parse_id(epoch + ".1"), 1u);
  EXPECT_EQ(log.parse_id(epoch + ".99"), 0u) << "from the future";
  EXPECT_EQ(log.parse_id("1234x1.2"), 0u) << "another epoch";
  EXPECT_EQ(log.parse_id("garbage"), 0u);

  // Seen 2: only delta 3. Seen 1: deltas 2 and 3 (the ring holds both).
  auto from2 = log.since(2);
  ASSERT_TRUE(from2);
  EXPECT_FALSE(from2->full);
  auto d = events(from2->frames, "delta");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0]["seq"], 3);
  EXPECT_EQ(d[0]["changed"]["n1:/root/b"]["restarts"], 2);
  EXPECT_EQ(events(log.since(1)->frames, "delta").size(), 2u);
  EXPECT_TRUE(log.since(3)->frames.empty()) << "up to date";

  // One more delta pushes delta 2 out of the ring: seen 1 needs it, so the
  // full state comes instead.
  EXPECT_TRUE(log.record(two_actors(3), 5000));
  EXPECT_TRUE(log.since(1)->full);
  EXPECT_FALSE(log.since(2)->full);
}
