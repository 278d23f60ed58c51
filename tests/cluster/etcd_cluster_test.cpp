// SPDX-License-Identifier: Apache-2.0
// Membership in etcd with real nodes (issue 19): member processes on
// 127.0.0.1 with no seeds find each other through an etcd the test starts
// (tests/runtime/cluster/etcd/etcd_server.hpp); a killed member is seen
// down by every other within the lease time; while etcd is gone nobody is
// marked down, each node says it runs on its last view, and once etcd is
// back they resync. Skipped without /usr/bin/etcd (tools/dev test installs
// it).
#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "child_process.hpp"
#include "runtime/cluster/etcd/etcd_server.hpp"

using namespace std::chrono_literals;
using troupe::test::child_process;
using troupe::test::etcd_server;
using troupe::test::member_args;

namespace {

constexpr int members = 6;

std::string name_of(int i) {
  return "e" + std::to_string(i);
}

std::vector<std::string> etcd_member_args(int i, const etcd_server& etcd) {
  auto args = member_args(name_of(i), "");
  args.insert(args.end(), {"--membership", "etcd", "--etcd-endpoints",
                           etcd.endpoint(), "--etcd-lease-ttl", "2s"});
  return args;
}

} // namespace

TEST(EtcdCluster, MembersMeetThroughEtcdLoseAKilledOneAndOutliveAnOutage) {
  if (!etcd_server::available())
    GTEST_SKIP() << etcd_server::binary << " is missing";
  etcd_server etcd;
  std::vector<std::unique_ptr<child_process>> nodes;
  for (int i = 0; i < members; ++i)
    nodes.emplace_back(std::make_unique<child_process>(etcd_member_args(i, etcd)));
  auto all = "CLUSTER up=" + std::to_string(members);
  for (auto& n : nodes)
    ASSERT_TRUE(n->wait_for_line(all, 30s)) << n->output();

  // -- kill -9: seen down by every other member within the lease ------------
  auto victim = name_of(members - 1);
  std::vector<size_t> from;
  for (auto& n : nodes)
    from.push_back(n->line_count());
  nodes.back()->signal(SIGKILL);
  for (int i = 0; i + 1 < members; ++i)
    EXPECT_TRUE(nodes[i]->wait_for_line("MEMBER " + victim + " down", 3s,
                                        from[i]))
      << nodes[i]->output();

  // -- etcd goes away: last view kept, nobody marked down ---------------------
  for (int i = 0; i + 1 < members; ++i)
    from[i] = nodes[i]->line_count();
  etcd.kill();
  for (int i = 0; i + 1 < members; ++i)
    ASSERT_TRUE(nodes[i]->wait_for_line("etcd unreachable", 10s, from[i]))
      << nodes[i]->output();
  // Two lease times without etcd: a member marked down now would be a
  // member lost to the outage.
  EXPECT_FALSE(nodes[0]->wait_for_line(" down", 4s, from[0]))
    << nodes[0]->output();
  etcd.restart();
  for (int i = 0; i + 1 < members; ++i)
    ASSERT_TRUE(nodes[i]->wait_for_line("etcd reachable again", 10s, from[i]))
      << nodes[i]->output();
  for (int i = 0; i + 1 < members; ++i) {
    auto lines = nodes[i]->lines();
    for (auto j = from[i]; j < lines.size(); ++j)
      EXPECT_EQ(lines[j].find("MEMBER e"), std::string::npos)
        << "a member changed during the outage: " << lines[j];
  }
}
