// SPDX-License-Identifier: Apache-2.0
// The worker pool across a real cluster: workers placed on three member
// processes by a pool in this (fourth) member; a task that crashes on some
// nodes is retried on another node, and a node killed in the middle of a
// map costs retries, not results.
#include <csignal>
#include <future>
#include <memory>
#include <set>

#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>

#include "cluster_fixture.hpp"
#include "troupe/actors/pool.hpp"
#include "troupe/error.hpp"
#include "troupe_actors_test/numbers.pb.h"
#include "troupe/testkit/eventually.hpp"

using namespace std::chrono_literals;
using troupe_actors_test::Num;
namespace ta = troupe::actors;

namespace {

std::vector<Num> nums(int64_t n) {
  std::vector<Num> result(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    result[static_cast<size_t>(i)].set_value(i);
  return result;
}

void expect_squares(const caf::expected<std::vector<Num>>& xs, int64_t n) {
  ASSERT_TRUE(xs) << troupe::describe(xs.error());
  ASSERT_EQ(xs->size(), static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    ASSERT_EQ((*xs)[static_cast<size_t>(i)].value(), i * i) << "at " << i;
}

// The client's registry: the same names as the nodes' (it may host a
// worker itself when no other node can).
std::shared_ptr<ta::task_registry> client_tasks(ta::task<Num, Num>* square,
                                                ta::task<Num, Num>* slow,
                                                ta::task<Num, Num>* crashy) {
  auto tasks = std::make_shared<ta::task_registry>();
  auto sq = [](const Num& x) {
    Num y;
    y.set_value(x.value() * x.value());
    return y;
  };
  *square = tasks->add<Num, Num>("square", sq);
  *slow = tasks->add<Num, Num>("slow_square", sq);
  *crashy = tasks->add<Num, Num>("crashy", sq);
  return tasks;
}

} // namespace

TEST(PoolCluster, WorkersSpreadOverNodesAndACrashIsRetriedOnAnotherNode) {
  // Items 7, 17, ... crash on n1 and n2 and not on n3: with two retries
  // allowed, the map succeeds only if each retry goes to another node.
  // (All six land on n3 first with probability 3^-6.)
  std::vector<std::string> crash{"crash=10/7"};
  troupe::test::three_nodes nodes{{crash, crash, {}}};
  ta::task<Num, Num> square{"", nullptr}, slow{"", nullptr}, crashy{"", nullptr};
  auto tasks = client_tasks(&square, &slow, &crashy);
  troupe::node client{troupe::test::client_config(nodes.seed)};
  ta::host_workers(client, tasks);
  ASSERT_FALSE(client.start());
  ASSERT_TRUE(nodes.await_up(4)) << nodes.output();
  ta::pool_options opts;
  opts.workers = 6;
  opts.placement = troupe::placement::spread;
  // Retries prefer a node where the chunk has not failed, but under load
  // (no worker there yet within the pool's wait) one may land on the other
  // crash node: slack for that, still far below the item count.
  opts.max_retries = 5;
  opts.supervision.max_restarts = 1000; // each crash ends a remote worker
  ta::pool pool{client, tasks, opts};
  ta::map_options mo;
  mo.chunksize = 1;
  auto xs = pool.map(crashy, nums(60), mo);
  expect_squares(xs, 60);
  auto stats = pool.stats();
  ASSERT_TRUE(stats);
  // Each item first lands on its crash node with probability 1/3.
  EXPECT_GE(stats->retries, 1u);
  EXPECT_GE(stats->worker_failures, 1u);
  EXPECT_GE(stats->retries, stats->worker_failures); // and chunks behind
  EXPECT_EQ(stats->maps_done, 1u);
  // The workers live on the other nodes, not in this process.
  auto workers = pool.workers();
  ASSERT_TRUE(workers);
  // (Workers that crashed last may still be being placed anew: on a
  // loaded machine that can be most of them; at least one is there.)
  EXPECT_GE(workers->size(), 1u);
  for (auto& w : *workers)
    EXPECT_NE(w.node(), client.system().node());
}

TEST(PoolCluster, ANodeKilledMidMapCostsRetriesNotResults) {
  troupe::test::three_nodes nodes{{}};
  ta::task<Num, Num> square{"", nullptr}, slow{"", nullptr}, crashy{"", nullptr};
  auto tasks = client_tasks(&square, &slow, &crashy);
  troupe::node client{troupe::test::client_config(nodes.seed)};
  ta::host_workers(client, tasks);
  ASSERT_FALSE(client.start());
  ASSERT_TRUE(nodes.await_up(4)) << nodes.output();
  ta::pool_options opts;
  opts.workers = 6;
  opts.placement = troupe::placement::spread;
  ta::pool pool{client, tasks, opts};
  // Its supervisor places the six workers (two per node, in turn) in a
  // few ms. The kill happens once a quarter of the items are done (the
  // progress callback says so); 400 items of 5 ms on 6 workers take
  // ~350 ms.
  auto quarter = std::make_shared<std::promise<void>>();
  auto said = std::make_shared<std::atomic<bool>>(false);
  ta::map_options mo;
  mo.chunksize = 1;
  mo.progress = [quarter, said](size_t done, size_t total) {
    if (done * 4 >= total && !said->exchange(true))
      quarter->set_value();
  };
  auto fut = pool.map_async(slow, nums(400), mo);
  ASSERT_EQ(quarter->get_future().wait_for(30s), std::future_status::ready);
  nodes[1].signal(SIGKILL);
  ASSERT_EQ(fut.wait_for(30s), std::future_status::ready);
  std::vector<Num> xs;
  ASSERT_NO_THROW(xs = fut.get());
  expect_squares(xs, 400);
  // n2's two workers died with chunks in flight (prefetch 2 keeps two
  // there while items are left), and were placed anew. The map can end
  // on the retries of the first loss before the pool took in the second
  // (the stats are what the pool knows when it answers): bounded wait.
  auto stats = pool.stats();
  ASSERT_TRUE(stats);
  EXPECT_TRUE(troupe::testkit::eventually([&] {
    stats = pool.stats();
    return stats && stats->worker_failures >= 2u;
  }));
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->worker_failures, 2u);
  EXPECT_GE(stats->retries, 1u);
  EXPECT_EQ(stats->maps_failed, 0u);
  auto workers = pool.workers();
  ASSERT_TRUE(workers);
  EXPECT_GE(workers->size(), 4u); // n1's and n3's, plus any placed anew
  EXPECT_LE(workers->size(), 6u);
}
