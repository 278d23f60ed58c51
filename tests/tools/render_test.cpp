// SPDX-License-Identifier: Apache-2.0
#include "troupe/tool/render.hpp"

#include "fixture.hpp"
#include "golden.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>

namespace troupe::tool::test {

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A line of `text` that contains `part`, or "".
std::string line_with(const std::string& text, const std::string& part) {
  auto at = text.find(part);
  if (at == std::string::npos)
    return "";
  auto begin = text.rfind('\n', at);
  auto end = text.find('\n', at);
  begin = begin == std::string::npos ? 0 : begin + 1;
  return text.substr(begin, end - begin);
}

} // namespace

// -- golden outputs of the fixture -------------------------------------------

TEST(RenderTree, MatchesGoldenWithoutColor) {
  expect_golden("tree.txt", render_tree(fixture_snapshot(), {false}));
}

TEST(RenderTree, MatchesGoldenWithColor) {
  expect_golden("tree_color.txt", render_tree(fixture_snapshot(), {true}));
}

TEST(RenderNodes, MatchesGolden) {
  expect_golden("nodes.txt", render_nodes(fixture_snapshot(), false));
}

TEST(ToJson, MatchesGolden) {
  expect_golden("snapshot.json", to_json(fixture_snapshot()).dump(2) + "\n");
}

TEST(ToDot, MatchesGolden) {
  expect_golden("snapshot.dot", to_dot(fixture_snapshot()));
}

// -- properties that the goldens show, stated on their own -------------------

TEST(RenderTree, UsesNoEscapeSequencesWithoutColor) {
  auto snap = fixture_snapshot();
  EXPECT_FALSE(contains(render_tree(snap, {false}), "\033"));
  EXPECT_FALSE(contains(render_nodes(snap, false), "\033"));
  EXPECT_TRUE(contains(render_tree(snap, {true}), "\033[32mrunning\033[0m"));
}

TEST(RenderTree, DrawsARemoteChildUnderItsSupervisorWithItsNode) {
  auto text = render_tree(fixture_snapshot());
  auto remote = text.find("├─ remote");
  auto r1 = text.find("│  └─ r1 @n2");
  ASSERT_NE(remote, std::string::npos) << text;
  ASSERT_NE(r1, std::string::npos) << text;
  EXPECT_LT(remote, r1);
  // n2's section says where its remote child is drawn.
  EXPECT_TRUE(contains(text, "also runs /root/remote/r1, drawn under n1"));
}

TEST(RenderTree, DrawsARemoteChildListedByItsOwnNodeTheSame) {
  // Whichever node lists a remote child, it is drawn under its supervisor.
  auto snap = fixture_snapshot();
  auto* n1 = snap.mutable_nodes(1);
  auto* n2 = snap.mutable_nodes(0);
  auto& xs = *n1->mutable_actors();
  for (int i = 0; i < xs.size(); ++i)
    if (xs[i].path() == "/root/remote/r1") {
      *n2->add_actors() = xs[i];
      xs.DeleteSubrange(i, 1);
      break;
    }
  ASSERT_EQ(n2->actors_size(), 4);
  EXPECT_EQ(render_tree(snap), render_tree(fixture_snapshot()));
}

TEST(RenderTree, KeepsEqualPathsOfTwoNodesApart) {
  // n1 and n2 both run /root/r, each on the other node.
  wire::ClusterSnapshot snap;
  for (auto [name, other] : {std::pair{"n1", "n2"}, std::pair{"n2", "n1"}}) {
    auto* ns = snap.add_nodes();
    ns->mutable_member()->set_name(name);
    ns->set_reachable(true);
    auto* root = ns->add_actors();
    root->set_path("/root");
    root->set_node(name);
    root->set_kind(wire::ActorInfo::SUPERVISOR);
    auto* r = ns->add_actors();
    r->set_path("/root/r");
    r->set_parent("/root");
    r->set_node(other);
    r->set_type(std::string{"from-"} + name);
  }
  auto text = render_tree(snap);
  EXPECT_TRUE(contains(line_with(text, "r @n2"), "from-n1")) << text;
  EXPECT_TRUE(contains(line_with(text, "r @n1"), "from-n2")) << text;
  auto dot = to_dot(snap);
  EXPECT_TRUE(contains(dot, "\"n1:/root\" -> \"n1:/root/r\";")) << dot;
  EXPECT_TRUE(contains(dot, "\"n2:/root\" -> \"n2:/root/r\";")) << dot;
}

TEST(RenderTree, ShowsUnreachableNodesWithTheirError) {
  auto text = render_tree(fixture_snapshot());
  auto n3 = line_with(text, "n3  suspect");
  EXPECT_TRUE(contains(n3, "unreachable: no answer within 2s")) << text;
  EXPECT_TRUE(contains(text, "(1 unreachable)"));
  EXPECT_TRUE(contains(render_nodes(fixture_snapshot()), "unreachable: "));
}

TEST(RenderTree, ShowsTheLastFailure) {
  auto w2 = line_with(render_tree(fixture_snapshot()), "w2");
  EXPECT_TRUE(contains(w2, "restarting")) << w2;
  EXPECT_TRUE(contains(w2, "last failure 2024-05-01T12:00:00Z: "
                           "handler_failed: std::runtime_error: disk full"))
      << w2;
}

// The supervisor words every failure "<cause>: <text>"; the tree, the DOT
// tooltip and the JSON all show that text verbatim, the first two in one
// and the same note.
TEST(RenderTree, ShowsEveryCauseOfFailureInOneFormat) {
  auto snap = fixture_snapshot();
  auto text = render_tree(snap);
  auto dot = to_dot(snap);
  auto json = to_json(snap);
  for (auto [actor, note] :
       {std::pair{"w2", "last failure 2024-05-01T12:00:00Z: handler_failed: "
                        "std::runtime_error: disk full (in a message of type "
                        "app.Write)"},
        std::pair{"r1 @n2", "last failure 2024-05-01T11:55:00Z: node_lost: "
                            "remote_link_unreachable"}}) {
    EXPECT_TRUE(contains(line_with(text, actor), note)) << text;
    EXPECT_TRUE(contains(dot, std::string{"tooltip=\""} + note + "\"")) << dot;
  }
  std::set<std::string> failures;
  for (auto& node : json["nodes"])
    for (auto& a : node["actors"])
      if (!a["last_failure"].get<std::string>().empty())
        failures.insert(a["last_failure"].get<std::string>());
  EXPECT_EQ(failures,
            (std::set<std::string>{"handler_failed: std::runtime_error: disk "
                                   "full (in a message of type app.Write)",
                                   "node_lost: remote_link_unreachable"}));
}

TEST(RenderTree, ListsChildrenInStartOrderNotByName) {
  // The fixture's /root started workers, remote, then logger.
  auto text = render_tree(fixture_snapshot());
  auto workers = text.find("├─ workers");
  auto remote = text.find("├─ remote");
  auto logger = text.find("└─ logger");
  ASSERT_TRUE(workers != std::string::npos && remote != std::string::npos &&
              logger != std::string::npos)
      << text;
  EXPECT_LT(workers, remote) << text;
  EXPECT_LT(remote, logger) << text;
  // Ids whose name order is the reverse of their start order, as a
  // supervisor lists them.
  wire::ClusterSnapshot snap;
  auto* ns = snap.add_nodes();
  ns->mutable_member()->set_name("a");
  ns->set_reachable(true);
  auto* root = ns->add_actors();
  root->set_path("/root");
  root->set_kind(wire::ActorInfo::SUPERVISOR);
  for (auto id : {"db", "cache-10", "cache-9", "api"}) {
    auto* x = ns->add_actors();
    x->set_path(std::string{"/root/"} + id);
    x->set_parent("/root");
  }
  text = render_tree(snap);
  auto at = [&](const std::string& row) {
    return text.find(row);
  };
  EXPECT_LT(at("├─ db "), at("├─ cache-10 ")) << text;
  EXPECT_LT(at("├─ cache-10 "), at("├─ cache-9 ")) << text;
  EXPECT_LT(at("├─ cache-9 "), at("└─ api ")) << text;
  auto dot = to_dot(snap);
  auto edge = [&](const std::string& id) {
    return dot.find("\"a:/root\" -> \"a:/root/" + id + "\";");
  };
  EXPECT_LT(edge("db"), edge("cache-10")) << dot;
  EXPECT_LT(edge("cache-10"), edge("cache-9")) << dot;
  EXPECT_LT(edge("cache-9"), edge("api")) << dot;
  auto json = to_json(snap);
  EXPECT_EQ(json["nodes"][0]["actors"][1]["path"], "/root/db");
  EXPECT_EQ(json["nodes"][0]["actors"][4]["path"], "/root/api");
}

TEST(RenderTree, ShowsTheClusterWideName) {
  auto snap = fixture_snapshot();
  auto r1 = line_with(render_tree(snap), "r1 @n2");
  EXPECT_TRUE(contains(r1, "name 'app.shard-1'; last failure")) << r1;
  // Not in red with the alerts that follow it.
  auto colored = line_with(render_tree(snap, {true}), "r1 ");
  EXPECT_TRUE(contains(colored, "name 'app.shard-1'; \033[31mlast failure"))
      << colored;
  EXPECT_TRUE(contains(to_dot(snap), "running, 1 restart\\nname "
                                     "'app.shard-1'\""));
  auto json = to_json(snap);
  std::string name;
  for (auto& node : json["nodes"])
    for (auto& a : node["actors"])
      if (a["path"] == "/root/remote/r1")
        name = a["global_name"].get<std::string>();
  EXPECT_EQ(name, "app.shard-1");
}

TEST(RenderTree, SaysWhenASupervisorDidNotReportItsChildrenInTime) {
  wire::ClusterSnapshot snap;
  auto* ns = snap.add_nodes();
  ns->mutable_member()->set_name("a");
  ns->set_reachable(true);
  auto* root = ns->add_actors();
  root->set_path("/root");
  root->set_kind(wire::ActorInfo::SUPERVISOR);
  auto* slow = ns->add_actors();
  slow->set_path("/root/slow");
  slow->set_parent("/root");
  slow->set_kind(wire::ActorInfo::SUPERVISOR);
  slow->set_children_unknown(true);
  auto text = render_tree(snap);
  EXPECT_TRUE(
      contains(line_with(text, "slow"), "children not reported in time"))
      << text;
  EXPECT_FALSE(contains(line_with(text, "/root "), "not reported")) << text;
  auto json = to_json(snap);
  EXPECT_EQ(json["nodes"][0]["actors"][1].value("children_unknown", false),
            true);
  EXPECT_FALSE(json["nodes"][0]["actors"][0].contains("children_unknown"));
}

TEST(RenderTree, DrawsAnActorWhoseSupervisorIsMissingAsARoot) {
  wire::ClusterSnapshot snap;
  auto* ns = snap.add_nodes();
  ns->mutable_member()->set_name("a");
  ns->set_reachable(true);
  auto* x = ns->add_actors();
  x->set_path("/gone/x");
  x->set_parent("/gone");
  auto text = render_tree(snap);
  EXPECT_TRUE(
      contains(line_with(text, "/gone/x"), "supervisor /gone not in snapshot"))
      << text;
}

TEST(RenderTree, ParentLoopsDoNotHideActors) {
  wire::ClusterSnapshot snap;
  auto* ns = snap.add_nodes();
  ns->mutable_member()->set_name("a");
  ns->set_reachable(true);
  auto* x = ns->add_actors();
  x->set_path("/x");
  x->set_parent("/y");
  auto* y = ns->add_actors();
  y->set_path("/y");
  y->set_parent("/x");
  auto text = render_tree(snap);
  EXPECT_TRUE(contains(text, "  /x ")) << text;
  EXPECT_TRUE(contains(text, "└─ y")) << text;
}

TEST(RenderTree, SaysWhenANodeHasNoActorsOrTheSnapshotIsEmpty) {
  wire::ClusterSnapshot snap;
  snap.set_answered_by("a");
  EXPECT_TRUE(contains(render_tree(snap), "0 nodes, 0 actors"));
  auto* ns = snap.add_nodes();
  ns->mutable_member()->set_name("a");
  ns->set_reachable(true);
  EXPECT_TRUE(contains(render_tree(snap), "(no actors)"));
}

TEST(ToJson, KeepsNumbersExactAndEnumsAsNames) {
  auto j = to_json(fixture_snapshot());
  ASSERT_EQ(j["nodes"].size(), 3u);
  auto& n1 = j["nodes"][1];
  EXPECT_EQ(n1["name"], "n1");
  EXPECT_EQ(n1["incarnation"].get<uint64_t>(), 1714560000000001u);
  EXPECT_EQ(n1["status"], "up");
  auto& w2 = n1["actors"][3];
  EXPECT_EQ(w2["path"], "/root/workers/w2");
  EXPECT_EQ(w2["kind"], "worker");
  EXPECT_EQ(w2["status"], "restarting");
  EXPECT_EQ(w2["last_failure_unix_ms"].get<int64_t>(), 1714564800123);
  EXPECT_EQ(w2["global_name"], "");
  EXPECT_EQ(j["nodes"][2]["reachable"], false);
}

TEST(ToDot, LinksSupervisorsToChildrenAcrossNodes) {
  // n1's remote child sits in n2's cluster; its id keeps n1's path.
  auto dot = to_dot(fixture_snapshot());
  EXPECT_TRUE(contains(dot, "\"n1:/root/remote\" -> \"n1:/root/remote/r1\";"));
  auto n2 = dot.find("subgraph \"cluster_n2\"");
  auto n3 = dot.find("subgraph \"cluster_n3\"");
  auto r1 = dot.find("\"n1:/root/remote/r1\" [");
  ASSERT_NE(n3, std::string::npos) << dot;
  EXPECT_TRUE(n2 < r1 && r1 < n3) << dot;
}

TEST(ToDot, QuotesIdsAndLabels) {
  wire::ClusterSnapshot snap;
  auto* ns = snap.add_nodes();
  ns->mutable_member()->set_name("a\"b");
  ns->set_reachable(true);
  auto* x = ns->add_actors();
  x->set_path("/x\\y");
  auto dot = to_dot(snap);
  EXPECT_TRUE(contains(dot, "\"a\\\"b:/x\\\\y\"")) << dot;
}

} // namespace troupe::tool::test
