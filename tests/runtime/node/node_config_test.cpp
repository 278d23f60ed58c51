// SPDX-License-Identifier: Apache-2.0
#include "troupe/node/node_config.hpp"

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include "troupe/error.hpp"

namespace {

caf::expected<troupe::parsed_config> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "node");
  std::vector<const char*> argv;
  for (auto& x : args)
    argv.push_back(x.c_str());
  return troupe::parse_node_config(static_cast<int>(argv.size()), argv.data());
}

std::string write_ini(const std::string& text) {
  // One file per test process: ctest runs the tests of this file in
  // parallel processes.
  auto path = ::testing::TempDir() + "/troupe_node_config_test_"
              + std::to_string(::getpid()) + ".ini";
  std::ofstream out{path};
  out << text;
  return path;
}

// Expects a bad_config error whose one-line text contains `what`.
void expect_bad(const caf::expected<troupe::parsed_config>& res,
                const std::string& what) {
  ASSERT_FALSE(res) << "accepted bad input";
  EXPECT_EQ(res.error().code(), static_cast<uint8_t>(troupe::errc::bad_config));
  auto text = troupe::describe(res.error());
  EXPECT_NE(text.find(what), std::string::npos) << text;
  EXPECT_EQ(text.find('\n'), std::string::npos) << "not one line: " << text;
}

struct env_guard {
  std::string key;
  env_guard(std::string k, const char* value) : key(std::move(k)) {
    ::setenv(key.c_str(), value, 1);
  }
  ~env_guard() {
    ::unsetenv(key.c_str());
  }
};

} // namespace

TEST(NodeConfig, DefaultsSuitASmallMachine) {
  auto res = parse({});
  ASSERT_TRUE(res);
  auto& cfg = res->config;
  EXPECT_EQ(cfg.host, "127.0.0.1");
  EXPECT_EQ(cfg.port, 0);
  EXPECT_EQ(cfg.threads, 0u);
  EXPECT_TRUE(cfg.seeds.empty());
}

TEST(NodeConfig, ReadsFlags) {
  auto res = parse({"--name", "alpha", "--port", "4242", "--threads", "3",
                    "--seeds", "10.0.0.1:1,h:2", "--max-message-size", "1024"});
  ASSERT_TRUE(res) << troupe::describe(res.error());
  auto& cfg = res->config;
  EXPECT_EQ(cfg.name, "alpha");
  EXPECT_EQ(cfg.port, 4242);
  EXPECT_EQ(cfg.threads, 3u);
  EXPECT_EQ(cfg.max_message_size, 1024u);
  EXPECT_EQ(cfg.seeds, (std::vector<std::string>{"10.0.0.1:1", "h:2"}));
}

TEST(NodeConfig, ReadsIniFileAndEnvironmentWithFlagsWinning) {
  auto path = write_ini("name = from-file\nport = 1111\nthreads = 2\n");
  env_guard port{"TROUPE_PORT", "2222"};
  auto res = parse({"--config", path, "--threads", "5"});
  ASSERT_TRUE(res) << troupe::describe(res.error());
  EXPECT_EQ(res->config.name, "from-file");
  EXPECT_EQ(res->config.port, 2222) << "environment beats the file";
  EXPECT_EQ(res->config.threads, 5u) << "flags beat everything";
}

TEST(NodeConfig, UnknownFlagIsAClearError) {
  expect_bad(parse({"--bogus", "1"}), "--bogus");
}

TEST(NodeConfig, PortOutOfRangeIsAClearError) {
  expect_bad(parse({"--port", "70000"}), "--port");
  expect_bad(parse({"--port", "http"}), "--port");
}

TEST(NodeConfig, UnreadableFileIsAClearError) {
  expect_bad(parse({"--config", "/nonexistent/troupe.ini"}),
             "/nonexistent/troupe.ini");
}

TEST(NodeConfig, WrongTypeInFileIsAClearError) {
  expect_bad(parse({"--config", write_ini("threads = many\n")}), "threads");
}

TEST(NodeConfig, UnknownKeyInFileIsAClearError) {
  expect_bad(parse({"--config", write_ini("colour = blue\n")}), "colour");
}

TEST(NodeConfig, WrongTypeInEnvironmentIsAClearError) {
  env_guard threads{"TROUPE_THREADS", "lots"};
  expect_bad(parse({}), "threads");
}

TEST(NodeConfig, MaxMessageSizeStopsAtWhatProtobufParses) {
  // Found by tests/fuzz: 2^31 was accepted, and Protobuf's int size would
  // have wrapped around for a message that large.
  expect_bad(parse({"--max-message-size", "2147483648"}), "--max-message-size");
  auto res = parse({"--max-message-size", "2147483647"});
  ASSERT_TRUE(res) << troupe::describe(res.error());
  EXPECT_EQ(res->config.max_message_size, 2147483647u);
}

TEST(NodeConfig, MalformedSeedIsAClearError) {
  expect_bad(parse({"--seeds", "localhost"}), "host:port");
  expect_bad(parse({"--seeds", "h:0"}), "port");
}

TEST(NodeConfig, PositionalArgumentsOnlyWhenAsked) {
  expect_bad(parse({"serve"}), "serve");
  const char* argv[] = {"node", "--name", "n", "serve", "x"};
  auto res = troupe::parse_node_config(5, argv, true);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->positional, (std::vector<std::string>{"serve", "x"}));
}

TEST(NodeConfig, HelpIsNotAnError) {
  auto res = parse({"--help"});
  ASSERT_TRUE(res);
  EXPECT_TRUE(res->help);
  EXPECT_NE(res->help_text.find("--port"), std::string::npos);
}

// `--seeds` takes one comma-separated list: the words after it are the
// program's own (issue 17: `--seeds h:1 client` took "client" as a seed).
TEST(NodeConfig, SeedsTakeOneListAndLeaveThePositionalsAlone) {
  const char* argv[] = {"node", "--seeds", "127.0.0.1:1,h:2", "client", "x"};
  auto res = troupe::parse_node_config(5, argv, true);
  ASSERT_TRUE(res) << troupe::describe(res.error());
  EXPECT_EQ(res->config.seeds,
            (std::vector<std::string>{"127.0.0.1:1", "h:2"}));
  EXPECT_EQ(res->positional, (std::vector<std::string>{"client", "x"}));
  const char* twice[] = {"node", "--seeds", "a:1", "run", "--seeds", "b:2"};
  auto res2 = troupe::parse_node_config(6, twice, true);
  ASSERT_TRUE(res2) << troupe::describe(res2.error());
  EXPECT_EQ(res2->config.seeds, (std::vector<std::string>{"a:1", "b:2"}));
  EXPECT_EQ(res2->positional, (std::vector<std::string>{"run"}));
}

// The dashboard's port and token, wired as the metrics port is: off by
// default, 0 = OS-chosen, from a flag, the environment or the file.
TEST(NodeConfig, DashboardPortAndToken) {
  auto defaults = parse({});
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->config.http_port, -1);
  EXPECT_EQ(defaults->config.http_token, "");
  auto flags = parse({"--http-port", "0", "--http-token", "s3cret"});
  ASSERT_TRUE(flags) << troupe::describe(flags.error());
  EXPECT_EQ(flags->config.http_port, 0);
  EXPECT_EQ(flags->config.http_token, "s3cret");
  {
    env_guard port{"TROUPE_HTTP_PORT", "8080"};
    env_guard token{"TROUPE_HTTP_TOKEN", "from-env"};
    auto env = parse({"--config", write_ini("http-port = 9090\n"
                                            "http-token = from-file\n")});
    ASSERT_TRUE(env) << troupe::describe(env.error());
    EXPECT_EQ(env->config.http_port, 8080) << "environment beats the file";
    EXPECT_EQ(env->config.http_token, "from-env");
  }
  auto file = parse({"--config", write_ini("http-port = 9090\n")});
  ASSERT_TRUE(file) << troupe::describe(file.error());
  EXPECT_EQ(file->config.http_port, 9090);
  expect_bad(parse({"--http-port", "65536"}), "--http-port");
  expect_bad(parse({"--http-port", "-2"}), "--http-port");
}

// Where the membership is kept (issue 19): seeds by default; etcd with its
// endpoints and lease TTL, from flags, the environment or a sectioned file.
TEST(NodeConfig, MembershipInEtcd) {
  auto defaults = parse({});
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->config.membership, troupe::membership_provider::seeds);
  EXPECT_EQ(defaults->config.etcd.endpoints,
            (std::vector<std::string>{"127.0.0.1:2379"}));
  EXPECT_EQ(defaults->config.etcd.lease_ttl, std::chrono::seconds{3});
  auto flags = parse({"--membership", "etcd", "--etcd-endpoints",
                      "10.0.0.1:2379,etcd-2:2379", "--etcd-lease-ttl",
                      "5000ms"});
  ASSERT_TRUE(flags) << troupe::describe(flags.error());
  EXPECT_EQ(flags->config.membership, troupe::membership_provider::etcd);
  EXPECT_EQ(flags->config.etcd.endpoints,
            (std::vector<std::string>{"10.0.0.1:2379", "etcd-2:2379"}));
  EXPECT_EQ(flags->config.etcd.lease_ttl, std::chrono::seconds{5});
  auto file = parse({"--config",
                     write_ini("name = n1\n"
                               "[cluster]\n"
                               "membership = etcd\n"
                               "[cluster.etcd]\n"
                               "endpoints = [\"127.0.0.1:1\", \"127.0.0.1:2\"]\n"
                               "lease-ttl = 7s\n")});
  ASSERT_TRUE(file) << troupe::describe(file.error());
  EXPECT_EQ(file->config.name, "n1");
  EXPECT_EQ(file->config.membership, troupe::membership_provider::etcd);
  EXPECT_EQ(file->config.etcd.endpoints,
            (std::vector<std::string>{"127.0.0.1:1", "127.0.0.1:2"}));
  EXPECT_EQ(file->config.etcd.lease_ttl, std::chrono::seconds{7});
  {
    env_guard ttl{"TROUPE_ETCD_LEASE_TTL", "9"};
    env_guard membership{"TROUPE_MEMBERSHIP", "etcd"};
    auto env = parse({});
    ASSERT_TRUE(env) << troupe::describe(env.error());
    EXPECT_EQ(env->config.membership, troupe::membership_provider::etcd);
    EXPECT_EQ(env->config.etcd.lease_ttl, std::chrono::seconds{9});
  }
}

TEST(NodeConfig, MalformedMembershipSettingsAreClearErrors) {
  expect_bad(parse({"--membership", "zookeeper"}), "--membership");
  expect_bad(parse({"--etcd-endpoints", "no-port"}), "bad etcd endpoint");
  expect_bad(parse({"--etcd-endpoints", "h:99999"}), "bad etcd endpoint");
  expect_bad(parse({"--etcd-lease-ttl", "3h"}), "the unit must be s or ms");
  expect_bad(parse({"--etcd-lease-ttl", "1500ms"}), "whole seconds");
  expect_bad(parse({"--etcd-lease-ttl", "0s"}), "between 1s and 3600s");
  expect_bad(parse({"--etcd-lease-ttl=-3s"}), "bad etcd lease TTL");
  expect_bad(parse({"--config", write_ini("[cluster.etcd]\nlease = 3s\n")}),
             "cluster.etcd.lease");
  expect_bad(parse({"--config", write_ini("[cluster]\nmembership = maybe\n")}),
             "membership");
}
