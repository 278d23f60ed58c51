// SPDX-License-Identifier: Apache-2.0
// The network-namespace harness itself: nodes in separate namespaces reach
// each other through the bridge, a cut isolates one of them, a restore heals
// it, and nothing is left behind. (The suite is named after the class, in
// lower case, so that `ctest -R netns` selects it.)
#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include "child_process.hpp"
#include "netns.hpp"

using namespace std::chrono_literals;
using troupe::test::child_process;
using troupe::test::netns_topology;
using troupe::test::program;
using troupe::test::ready_port;

namespace {

// argv for a troupe_test_node inside node `i`, listening on its address.
std::vector<std::string> node_argv(const netns_topology& net, size_t i,
                                   const std::string& name,
                                   const std::string& seeds = {}) {
  auto argv = net.exec_prefix(i);
  argv.insert(argv.end(), {program("troupe_test_node"), "--name", name,
                           "--host", net.address(i), "--port", "0"});
  if (!seeds.empty())
    argv.insert(argv.end(), {"--seeds", seeds});
  return argv;
}


// Whether a started node reports having joined through a seed. A node tries
// its seeds before it prints READY.
testing::AssertionResult reached_seed(child_process& node) {
  if (!node.wait_for_line("READY port=", 20s))
    return testing::AssertionFailure() << "did not start:\n" << node.output();
  for (auto& line : node.lines())
    if (line.find("joined the cluster through") != std::string::npos)
      return testing::AssertionSuccess();
  return testing::AssertionFailure() << "reached no seed:\n" << node.output();
}

bool listed(const std::string& name) {
  auto all = netns_topology::list_namespaces();
  return std::find(all.begin(), all.end(), name) != all.end();
}

} // namespace

TEST(netns_topology, RejectsBadArguments) {
  // Checked before anything is created, so this runs unprivileged too.
  EXPECT_THROW(netns_topology(0), std::invalid_argument);
  EXPECT_THROW(netns_topology(255), std::invalid_argument);
  EXPECT_THROW(netns_topology(3, "10.251"), std::invalid_argument);
  EXPECT_THROW(netns_topology(3, "10.251.0."), std::invalid_argument);
  EXPECT_THROW(netns_topology(3, "10.251.256"), std::invalid_argument);
  EXPECT_THROW(netns_topology(3, "8.8.8"), std::invalid_argument);
}

TEST(netns_topology, CutIsolatesOneNodeAndRestoreHealsIt) {
  if (auto why = netns_topology::unavailable())
    GTEST_SKIP() << *why;
  std::vector<std::string> names;
  {
    // Declared first: the nodes below stop before the namespaces go.
    netns_topology net{3};
    names = {net.bridge_name(), net.name(1), net.name(2), net.name(3)};
    for (auto& name : names)
      EXPECT_TRUE(listed(name)) << name;
    EXPECT_THROW(net.address(0), std::out_of_range);
    EXPECT_THROW(net.cut(4), std::out_of_range);
    EXPECT_EQ(net.address(1), "10.251.0.1");
    EXPECT_EQ(net.run_in(1, {"/bin/true"}).exit_code, 0);
    child_process a{node_argv(net, 1, "a")};
    auto seed_a = net.address(1) + ":" + ready_port(a);
    // Across the bridge, from another namespace.
    child_process b{node_argv(net, 2, "b", seed_a)};
    auto seed_b = net.address(2) + ":" + ready_port(b);
    EXPECT_TRUE(reached_seed(b));
    // Node 1 cut off: unreachable from node 3, while node 2 still is. A new
    // connection across the cut fails within seconds (see cut()); the
    // timeouts are safety nets.
    net.cut(1);
    child_process c{node_argv(net, 3, "c", seed_a + "," + seed_b)};
    EXPECT_TRUE(c.wait_for_line("seed " + seed_a + " unreachable", 20s))
      << c.output();
    EXPECT_TRUE(reached_seed(c));
    // Healed: reachable again, from the same namespace.
    net.restore(1);
    child_process d{node_argv(net, 3, "d", seed_a)};
    EXPECT_TRUE(reached_seed(d));
  }
  for (auto& name : names)
    EXPECT_FALSE(listed(name)) << name;
}

TEST(netns_topology, CleanupLeftoversTakesOnlyThisProcessOnes) {
  if (auto why = netns_topology::unavailable())
    GTEST_SKIP() << *why;
  auto pid = std::to_string(::getpid());
  // One of ours, left over; one whose prefix only looks like ours (a pid
  // with one more digit).
  std::string ours = "trp" + pid + "t99n1";
  std::string theirs = "trp" + pid + "0t0n1";
  auto ip = netns_topology::ip_command();
  auto run = [&](const char* verb, const std::string& name) {
    return troupe::test::run_command({ip, "netns", verb, name}).exit_code;
  };
  EXPECT_EQ(run("add", ours), 0);
  EXPECT_EQ(run("add", theirs), 0);
  EXPECT_EQ(netns_topology::cleanup_leftovers(), 1u);
  EXPECT_EQ(netns_topology::cleanup_leftovers(), 0u);
  EXPECT_FALSE(listed(ours));
  EXPECT_TRUE(listed(theirs));
  EXPECT_EQ(run("del", theirs), 0);
}
