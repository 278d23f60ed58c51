// SPDX-License-Identifier: Apache-2.0
// Monte Carlo pi on a worker pool spread over the cluster; a node that
// dies mid-run costs retries, not the result.
//
//   pi serve [node flags]   hosts workers, prints READY port=<p>, runs
//                           until SIGINT/SIGTERM
//   pi run [nodes=N] [samples=S] [tasks=T] --seeds H:P [node flags]
//                           waits for N other members (default 1), maps T
//                           tasks over 2 workers per member, prints
//                           PROGRESS lines and "PI <estimate> ..."
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>

#include <caf/after.hpp>
#include <caf/scoped_actor.hpp>
#include <troupe/actors/pool.hpp>
#include <troupe/error.hpp>
#include <troupe/node/node.hpp>

#include "pi.pb.h"

namespace {

pi::Hits sample(const pi::Sample& s) {
  std::mt19937_64 rng{s.seed()};
  std::uniform_real_distribution<double> unit{0.0, 1.0};
  uint64_t hits = 0;
  for (uint64_t i = 0; i < s.count(); ++i) {
    auto x = unit(rng);
    auto y = unit(rng);
    hits += x * x + y * y <= 1.0 ? 1 : 0;
  }
  pi::Hits result;
  result.set_hits(hits);
  result.set_count(s.count());
  return result;
}

/// Waits until `want` members other than this node are up (10 s at most).
bool await_members(troupe::node& n, size_t want) {
  caf::scoped_actor self{n.system()};
  n.subscribe_members(self);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  for (;;) {
    size_t up = 0;
    for (auto& m : n.members())
      up += m.name != n.name() && m.status == troupe::member_status::up;
    if (up >= want)
      return true;
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    self->receive([](const troupe::member_event&) {},
                  caf::after(std::chrono::milliseconds{500}) >> [] {});
  }
}

int run(troupe::node& n, const troupe::actors::task<pi::Sample, pi::Hits>& t,
        troupe::actors::task_registry_ptr registry, uint64_t nodes,
        uint64_t samples, uint64_t tasks) {
  if (!await_members(n, nodes)) {
    std::cerr << "pi: fewer than " << nodes << " other members came up\n";
    return 1;
  }
  troupe::actors::pool_options opts;
  opts.workers = 2 * nodes;
  opts.placement = troupe::placement::spread;
  troupe::actors::pool pool{n, std::move(registry), opts};
  std::vector<pi::Sample> items(tasks);
  for (uint64_t i = 0; i < tasks; ++i) {
    items[i].set_seed(0x9e3779b97f4a7c15ull * (i + 1));
    items[i].set_count(samples / tasks + (i < samples % tasks ? 1 : 0));
  }
  auto t0 = std::chrono::steady_clock::now();
  troupe::actors::map_options mo;
  mo.progress = [last = size_t{0}](size_t done, size_t total) mutable {
    auto pct = 100 * done / total;
    if (pct == last)
      return;
    last = pct;
    auto bar = std::string(30 * done / total, '#') + std::string(30, '.');
    std::printf("PROGRESS %3zu%% [%.30s] %zu/%zu tasks\n", pct, bar.c_str(),
                done, total);
    std::fflush(stdout);
  };
  auto results = pool.map(t, std::move(items), std::move(mo));
  if (!results) {
    std::cerr << "pi: " << troupe::describe(results.error()) << '\n';
    return 1;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now()
                                              - t0)
                  .count();
  uint64_t hits = 0, count = 0;
  for (auto& h : *results)
    hits += h.hits(), count += h.count();
  auto estimate = 4.0 * static_cast<double>(hits) / static_cast<double>(count);
  auto stats = pool.stats();
  std::printf("PI %.6f error=%.6f samples=%llu in %.2f s = %.3g samples/s "
              "retries=%llu\n",
              estimate, std::fabs(estimate - M_PI),
              static_cast<unsigned long long>(count), secs, count / secs,
              static_cast<unsigned long long>(stats ? stats->retries : 0));
  std::fflush(stdout);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  auto parsed = troupe::parse_node_config(argc, argv, true);
  if (!parsed || parsed->positional.empty()) {
    std::cerr << "usage: pi serve|run [nodes=N] [samples=S] [tasks=T] "
                 "[node flags]\n";
    if (!parsed)
      std::cerr << "pi: " << troupe::describe(parsed.error()) << '\n';
    return 2;
  }
  auto mode = parsed->positional[0];
  uint64_t nodes = 1, samples = 100'000'000, tasks = 200;
  for (size_t i = 1; i < parsed->positional.size(); ++i) {
    auto& arg = parsed->positional[i];
    auto eq = std::min(arg.find('='), arg.size());
    auto key = arg.substr(0, eq);
    char* end = nullptr;
    auto value = std::strtoull(arg.c_str() + std::min(eq + 1, arg.size()),
                               &end, 10);
    auto* slot = key == "nodes"     ? &nodes
                 : key == "samples" ? &samples
                 : key == "tasks"   ? &tasks
                                    : nullptr;
    if (slot == nullptr || value == 0 || *end != '\0') {
      std::cerr << "pi: bad argument '" << arg << "' (want nodes=N, "
                << "samples=S or tasks=T, each > 0)\n";
      return 2;
    }
    *slot = value;
  }
  if ((mode != "serve" && mode != "run") || tasks > samples) {
    std::cerr << "pi: mode must be serve or run, and tasks <= samples\n";
    return 2;
  }
  auto registry = std::make_shared<troupe::actors::task_registry>();
  auto task = registry->add<pi::Sample, pi::Hits>("pi.sample", sample);
  troupe::node n{parsed->config};
  troupe::actors::host_workers(n, registry);
  if (auto err = n.start()) {
    std::cerr << "pi: " << troupe::describe(err) << '\n';
    return 1;
  }
  if (mode == "serve") {
    std::cout << "READY port=" << n.port() << " name=" << n.name()
              << std::endl;
    return n.run();
  }
  return run(n, task, registry, nodes, samples, tasks);
}
