// SPDX-License-Identifier: Apache-2.0
// A network partition: three members in their own network namespaces,
// joined by a bridge. The link of the node that hosts the supervised worker
// is cut, then restored. Documented behaviour (docs/cluster.md):
//  - the majority (n1, n3) marks n2 down after the failure timeout and the
//    supervisor on n1 moves the worker to n3, with its cluster name;
//  - n2, cut off from the majority, fences itself: it stops the worker it
//    hosted, and keeps trying to rejoin;
//  - once the link is back, n2 rejoins as a new incarnation; there is one
//    worker, on n3.
// Root only (it creates namespaces); skipped with the reason otherwise.
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "child_process.hpp"
#include "netns.hpp"

using namespace std::chrono_literals;
using troupe::test::child_process;
using troupe::test::netns_topology;
using troupe::test::program;
using troupe::test::ready_port;

namespace {

std::vector<std::string> member_argv(const netns_topology& net, size_t i,
                                     const std::string& seed,
                                     const std::string& extra = {}) {
  auto argv = net.exec_prefix(i);
  argv.insert(argv.end(),
              {program("troupe_cluster_node"), "--name",
               "n" + std::to_string(i), "--host", net.address(i), "--port",
               "0"});
  if (!seed.empty())
    argv.insert(argv.end(), {"--seeds", seed});
  if (!extra.empty())
    argv.emplace_back(extra);
  return argv;
}


} // namespace

TEST(Partition, MinorityFencesItselfAndRejoinsAfterTheCutHeals) {
  if (auto why = netns_topology::unavailable())
    GTEST_SKIP() << *why;
  // Declared first: the nodes stop before the namespaces go.
  netns_topology net{3};
  child_process n1{member_argv(net, 1, "", "supervise=3")};
  auto seed = net.address(1) + ":" + ready_port(n1);
  child_process n2{member_argv(net, 2, seed)};
  child_process n3{member_argv(net, 3, seed)};
  for (auto* p : {&n1, &n2, &n3})
    ASSERT_TRUE(p->wait_for_line("CLUSTER up=3")) << p->output();
  ASSERT_TRUE(n1.wait_for_line("spawned a 'echo' on 'n2'")) << n1.output();
  ASSERT_TRUE(n2.wait_for_line("WORKERS n=1")) << n2.output();
  auto n1_from = n1.line_count();
  auto n2_from = n2.line_count();
  auto n3_from = n3.line_count();

  net.cut(2);
  // The majority side: n2 down, the worker moves to n3.
  EXPECT_TRUE(n1.wait_for_line("MEMBER n2 down", 10s, n1_from)) << n1.output();
  EXPECT_TRUE(n3.wait_for_line("MEMBER n2 down", 10s, n3_from)) << n3.output();
  ASSERT_TRUE(n1.wait_for_line("spawned a 'echo' on 'n3'", 10s, n1_from))
    << n1.output();
  EXPECT_TRUE(n3.wait_for_line("WORKERS n=1", 10s, n3_from)) << n3.output();
  // The minority side: n2 fences itself and stops its copy.
  ASSERT_TRUE(n2.wait_for_line("is fenced", 10s, n2_from)) << n2.output();
  EXPECT_TRUE(n2.wait_for_line("WORKERS n=0", 10s, n2_from)) << n2.output();
  EXPECT_TRUE(n2.wait_for_line("CLUSTER up=1", 10s, n2_from)) << n2.output();

  n1_from = n1.line_count();
  n2_from = n2.line_count();
  n3_from = n3.line_count();
  net.restore(2);
  // Healed: n2 is back as a new incarnation on every node; the worker stays
  // where it is (no second copy comes up anywhere).
  ASSERT_TRUE(n2.wait_for_line("joined the cluster through", 20s, n2_from))
    << n2.output();
  EXPECT_TRUE(n2.wait_for_line("CLUSTER up=3", 10s, n2_from)) << n2.output();
  EXPECT_TRUE(n1.wait_for_line("MEMBER n2 up", 10s, n1_from)) << n1.output();
  EXPECT_TRUE(n3.wait_for_line("MEMBER n2 up", 10s, n3_from)) << n3.output();
  for (auto* p : {&n1, &n2})
    for (auto& line : p->lines())
      EXPECT_EQ(line.find("WORKERS n=2"), std::string::npos) << line;
  EXPECT_FALSE(n2.wait_for_line("WORKERS n=1", 0ms, n2_from)) << n2.output();
  EXPECT_FALSE(n1.wait_for_line("WORKERS n=1", 0ms)) << n1.output();
}
