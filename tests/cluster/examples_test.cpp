// Smoke tests of the examples, with asserted output.
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

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
  return {code.value_or(-1), tool.output()};
}

} // namespace

// The main job: a 3-node cluster whose supervision tree spans the nodes,
// seen whole through one node with the `troupe` tool; a drill failure shows
// up as a restart with its reason.
TEST(Examples, ClusterTreeThroughTheTool) {
  std::string cluster = std::string{TROUPE_EXAMPLES_BIN_DIR} + "/cluster";
  child_process n1{{cluster, "--name", "n1", "supervise", "3"}};
  auto ready = n1.wait_for_line("READY port=");
  ASSERT_TRUE(ready) << n1.output();
  auto port = ready->substr(ready->find("port=") + 5);
  auto seed = "127.0.0.1:" + port.substr(0, port.find(' '));
  child_process n2{{cluster, "--name", "n2", "--seeds", seed}};
  child_process n3{{cluster, "--name", "n3", "--seeds", seed}};
  ASSERT_TRUE(n1.wait_for_line("SUPERVISING")) << n1.output();
  // The tree's remote children are placed before SUPERVISING is printed.
  auto [code, out] = run_tool({"tree", "--json", seed});
  ASSERT_EQ(code, 0) << out;
  auto doc = nlohmann::json::parse(out);
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
  EXPECT_NE(killed_actor["last_failure"].get<std::string>().find(
              "made to fail by 'troupe kill'"),
            std::string::npos)
    << killed_actor.dump();
  auto unknown = run_tool({"kill", seed, "/root/nope"});
  EXPECT_EQ(unknown.first, 4) << unknown.second;
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
