// SPDX-License-Identifier: Apache-2.0
// Smoke tests of the examples, with asserted output.
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include "child_process.hpp"

using troupe::test::child_process;

TEST(Examples, HelloTwoNodesExchangeGreetings) {
  std::string hello = std::string{TROUPE_EXAMPLES_BIN_DIR} + "/hello";
  child_process server{{hello, "--name", "b", "serve"}};
  auto line = server.wait_for_line("serves 'greeter' on port ");
  ASSERT_TRUE(line) << server.output();
  auto port = line->substr(line->rfind(' ') + 1);
  child_process client{{hello, "--name", "a", "call", "127.0.0.1:" + port, "4"}};
  EXPECT_EQ(client.wait_exit(), 0) << client.output();
  EXPECT_TRUE(client.wait_for_line("4/4 requests answered")) << client.output();
  EXPECT_TRUE(server.wait_for_line("b greeted a (#4, 4 so far)"))
    << server.output();
}

#ifdef TROUPE_TOOL_BIN
namespace {

// Runs the `troupe` tool and returns its exit code and output.
std::pair<int, std::string> run_tool(std::vector<std::string> args) {
  args.insert(args.begin(), TROUPE_TOOL_BIN);
  child_process tool{args};
  auto code = tool.wait_exit(std::chrono::seconds{30});
  // What it printed, without output()'s closing note on how it ended: the
  // tests parse it (JSON).
  std::string out;
  for (auto& line : tool.lines())
    out += line + "\n";
  return {code.value_or(-1), out};
}

// The `cluster` example on three nodes, n1 supervising a tree that spans
// them; `seed` is n1's address. The nodes stop with it (n3 first).
struct cluster_example {
  std::optional<child_process> n1, n2, n3;
  std::string seed;
  std::string tree; // the first `tree --json` through `seed`
  nlohmann::json doc; // `tree`, parsed

  // Starts the nodes, waits until n1 supervises (the tree's remote children
  // are placed before SUPERVISING is printed) and asks for the tree.
  void start() {
    std::string cluster = std::string{TROUPE_EXAMPLES_BIN_DIR} + "/cluster";
    using argv = std::vector<std::string>;
    n1.emplace(argv{cluster, "--name", "n1", "supervise", "3"});
    auto ready = n1->wait_for_line("READY port=");
    ASSERT_TRUE(ready) << n1->output();
    auto port = ready->substr(ready->find("port=") + 5);
    seed = "127.0.0.1:" + port.substr(0, port.find(' '));
    n2.emplace(argv{cluster, "--name", "n2", "--seeds", seed});
    n3.emplace(argv{cluster, "--name", "n3", "--seeds", seed});
    ASSERT_TRUE(n1->wait_for_line("SUPERVISING")) << n1->output();
    auto [code, out] = run_tool({"tree", "--json", seed});
    ASSERT_EQ(code, 0) << out;
    tree = out;
    doc = nlohmann::json::parse(out);
  }
};

} // namespace

// The main job: a 3-node cluster whose supervision tree spans the nodes,
// seen whole through one node with the `troupe` tool; a drill failure shows
// up as a restart with its reason.
TEST(Examples, ClusterTreeThroughTheTool) {
  cluster_example example;
  ASSERT_NO_FATAL_FAILURE(example.start());
  const auto& seed = example.seed;
  const auto& out = example.tree;
  auto& doc = example.doc;
  EXPECT_EQ(doc["answered_by"], "n1");
  std::map<std::string, std::string> where; // path -> node it runs on
  std::set<std::string> nodes;
  for (auto& node : doc["nodes"]) {
    nodes.insert(node["name"].get<std::string>());
    EXPECT_TRUE(node["reachable"].get<bool>()) << node.dump();
    for (auto& actor : node["actors"])
      where[actor["path"].get<std::string>()] = actor["node"];
  }
  EXPECT_EQ(nodes, (std::set<std::string>{"n1", "n2", "n3"}));
  for (auto path : {"/root", "/root/greeter-1", "/root/greeter-2",
                    "/root/greeter-3", "/root/local", "/root/local/a",
                    "/root/local/b", "/root/caller"})
    EXPECT_EQ(where.count(path), 1u) << path << "\n" << out;
  // Spread: the greeters run on the other two nodes.
  std::set<std::string> hosts;
  for (auto path : {"/root/greeter-1", "/root/greeter-2", "/root/greeter-3"})
    hosts.insert(where[path]);
  EXPECT_EQ(hosts, (std::set<std::string>{"n2", "n3"}));
  auto killed = run_tool({"kill", seed, "/root/local/a"});
  ASSERT_EQ(killed.first, 0) << killed.second;
  // The supervisor restarts it at once; the next snapshot shows it.
  nlohmann::json killed_actor;
  std::string last;
  for (int i = 0; i < 20 && killed_actor.is_null(); ++i) {
    auto res = run_tool({"tree", "--json", seed});
    ASSERT_EQ(res.first, 0) << res.second;
    last = res.second;
    auto snapshot = nlohmann::json::parse(res.second);
    for (auto& node : snapshot["nodes"])
      for (auto& actor : node["actors"])
        if (actor["path"] == "/root/local/a" && actor["restarts"] == 1)
          killed_actor = actor;
  }
  ASSERT_FALSE(killed_actor.is_null()) << killed.second << "\n" << last;
  EXPECT_EQ(killed_actor["last_failure"],
            "handler_failed: made to fail by 'troupe kill'")
    << killed_actor.dump();
  auto unknown = run_tool({"kill", seed, "/root/nope"});
  EXPECT_EQ(unknown.first, 4) << unknown.second;
}

namespace {

// The actor at `path` in a `tree --json` document, or null.
nlohmann::json actor_at(const nlohmann::json& doc, const std::string& path) {
  for (auto& node : doc["nodes"])
    for (auto& actor : node["actors"])
      if (actor["path"] == path)
        return actor;
  return nullptr;
}

// Asks for the tree until the actor at `path` counts `restarts` and runs
// (a few seconds at most); returns it, or null with `last` the last answer.
nlohmann::json await_restarts(const std::string& seed, const std::string& path,
                              uint64_t restarts, std::string& last) {
  for (int i = 0; i < 20; ++i) {
    auto res = run_tool({"tree", "--json", seed});
    last = res.second;
    if (res.first != 0)
      continue;
    auto actor = actor_at(nlohmann::json::parse(res.second), path);
    if (!actor.is_null() && actor["restarts"] == restarts
        && actor["status"] == "running")
      return actor;
  }
  return nullptr;
}

} // namespace

// `troupe tree` lists a supervisor's children in start order with their
// cluster-wide names; `troupe kill --mode exit` has the child respawned from
// its spec (a new actor), `--mode throw` has it restarted in place (the same
// actor), and the tool says which it did.
TEST(Examples, KillModesStartOrderAndNamesThroughTheTool) {
  cluster_example example;
  ASSERT_NO_FATAL_FAILURE(example.start());
  const auto& seed = example.seed;
  const auto& out = example.tree;
  auto& doc = example.doc;

  // Start order (by name, caller would come first).
  std::vector<std::string> children;
  for (auto& node : doc["nodes"])
    if (node["name"] == "n1")
      for (auto& actor : node["actors"])
        if (actor["parent"] == "/root")
          children.push_back(actor["path"].get<std::string>());
  EXPECT_EQ(children,
            (std::vector<std::string>{"/root/greeter-1", "/root/greeter-2",
                                      "/root/greeter-3", "/root/local",
                                      "/root/caller"}))
    << out;
  auto [tree_code, tree] = run_tool({"tree", "--no-color", seed});
  ASSERT_EQ(tree_code, 0) << tree;
  auto row = [&](const std::string& part) { return tree.find(part); };
  EXPECT_LT(row("├─ greeter-1 @"), row("├─ greeter-2 @")) << tree;
  EXPECT_LT(row("├─ greeter-3 @"), row("├─ local ")) << tree;
  EXPECT_LT(row("├─ local "), row("└─ caller ")) << tree;

  // Each greeter's cluster-wide name, in the JSON and in the tree's NOTE.
  for (auto name : {"greeter-1", "greeter-2", "greeter-3"}) {
    auto actor = actor_at(doc, std::string{"/root/"} + name);
    ASSERT_FALSE(actor.is_null()) << name;
    EXPECT_EQ(actor["global_name"], name) << actor.dump();
    auto at = tree.find(std::string{"├─ "} + name + " @");
    ASSERT_NE(at, std::string::npos) << tree;
    auto line = tree.substr(at, tree.find('\n', at) - at);
    EXPECT_NE(line.find(std::string{"name '"} + name + "'"),
              std::string::npos)
      << tree;
  }
  EXPECT_EQ(actor_at(doc, "/root/local")["global_name"], "");

  // --mode exit: a new actor from the spec.
  auto a_id = actor_at(doc, "/root/local/a")["id"].get<uint64_t>();
  auto exited = run_tool({"kill", "--mode", "exit", seed, "/root/local/a"});
  ASSERT_EQ(exited.first, 0) << exited.second;
  EXPECT_NE(exited.second.find("killed /root/local/a (actor "
                               + std::to_string(a_id)
                               + " on n1): exit; its supervisor respawns it "
                                 "from its spec (new address)"),
            std::string::npos)
    << exited.second;
  std::string last;
  auto a = await_restarts(seed, "/root/local/a", 1, last);
  ASSERT_FALSE(a.is_null()) << last;
  EXPECT_NE(a["id"].get<uint64_t>(), a_id) << a.dump();
  EXPECT_EQ(a["last_failure"], "handler_failed: made to fail by 'troupe kill'")
    << a.dump();

  // --mode throw: the same actor, restarted in place.
  auto b_id = actor_at(doc, "/root/local/b")["id"].get<uint64_t>();
  auto thrown = run_tool({"kill", seed, "/root/local/b", "--mode", "throw"});
  ASSERT_EQ(thrown.first, 0) << thrown.second;
  EXPECT_NE(thrown.second.find("failed /root/local/b (actor "
                               + std::to_string(b_id)
                               + " on n1) as a handler throw would; its "
                                 "supervisor decides: restart in place "
                                 "(same address)"),
            std::string::npos)
    << thrown.second;
  auto b = await_restarts(seed, "/root/local/b", 1, last);
  ASSERT_FALSE(b.is_null()) << last;
  EXPECT_EQ(b["id"].get<uint64_t>(), b_id) << b.dump();
  auto failure = b["last_failure"].get<std::string>();
  EXPECT_EQ(failure.rfind("handler_failed: ", 0), 0u) << failure;
  EXPECT_NE(failure.find("made to fail by 'troupe kill'"), std::string::npos)
    << failure;
  // Its sibling was not touched by either drill.
  EXPECT_EQ(actor_at(nlohmann::json::parse(last), "/root/local/a")["restarts"],
            1)
    << last;

  // A child on another node was spawned there by a factory, not by its
  // supervisor: a throw ends it, and it is respawned from its spec.
  auto g1 = actor_at(doc, "/root/greeter-1");
  auto remote = run_tool({"kill", "--mode", "throw", seed, "/root/greeter-1"});
  ASSERT_EQ(remote.first, 0) << remote.second;
  EXPECT_NE(remote.second.find(
              "failed /root/greeter-1 (actor "
              + std::to_string(g1["id"].get<uint64_t>()) + " on "
              + g1["node"].get<std::string>()
              + ") as a handler throw would; it runs on another node, where "
                "it cannot restart in place: its supervisor respawns it from "
                "its spec (new address)"),
            std::string::npos)
    << remote.second;
  auto g1_after = await_restarts(seed, "/root/greeter-1", 1, last);
  ASSERT_FALSE(g1_after.is_null()) << last;
  EXPECT_NE(std::pair(g1_after["node"], g1_after["id"]),
            std::pair(g1["node"], g1["id"]))
    << g1_after.dump();
  EXPECT_EQ(g1_after["global_name"], "greeter-1") << g1_after.dump();

  auto bad = run_tool({"kill", "--mode", "crash", seed, "/root/local/a"});
  EXPECT_EQ(bad.first, 2) << bad.second;
}

// A TLS cluster: the tool gets in with a client certificate of the
// cluster's CA, and is refused without one.
TEST(Examples, TlsClusterTreeThroughTheToolWithAClientCertificate) {
  auto dir = std::filesystem::temp_directory_path()
             / ("troupe-tls-tool-" + std::to_string(::getpid()));
  auto ca = std::string{TROUPE_SOURCE_DIR} + "/tools/tls/make-dev-ca";
  ASSERT_EQ(std::system((ca + " " + dir.string() + " n1 n2 tool >/dev/null")
                          .c_str()),
            0);
  auto tls = [&](const std::string& name) {
    return std::vector<std::string>{
      "--tls-ca", (dir / "ca.pem").string(), "--tls-cert",
      (dir / (name + ".pem")).string(), "--tls-key",
      (dir / (name + ".key")).string()};
  };
  auto with = [](std::vector<std::string> a, std::vector<std::string> b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  std::string cluster = std::string{TROUPE_EXAMPLES_BIN_DIR} + "/cluster";
  child_process n1{with({cluster, "--name", "n1"}, tls("n1"))};
  auto ready = n1.wait_for_line("READY port=");
  ASSERT_TRUE(ready) << n1.output();
  auto port = ready->substr(ready->find("port=") + 5);
  auto seed = "127.0.0.1:" + port.substr(0, port.find(' '));
  child_process n2{with({cluster, "--name", "n2", "--seeds", seed}, tls("n2"))};
  ASSERT_TRUE(n2.wait_for_line("READY port=")) << n2.output();
  auto [code, out] = run_tool(with({"nodes", "--json", seed}, tls("tool")));
  ASSERT_EQ(code, 0) << out;
  auto doc = nlohmann::json::parse(out);
  std::set<std::string> names;
  for (auto& node : doc["nodes"])
    names.insert(node["name"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"n1", "n2"})) << out;
  auto [refused, why] = run_tool({"nodes", "--timeout", "5", seed});
  EXPECT_EQ(refused, 3) << why;
  EXPECT_NE(why.find("refused during the handshake"), std::string::npos)
    << why;
  std::filesystem::remove_all(dir);
}
#endif
