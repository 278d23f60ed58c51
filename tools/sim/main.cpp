// SPDX-License-Identifier: Apache-2.0
// sim_membership: the runtime's gossip membership and bounded fan-out
// failure detection (runtime/cluster/membership.hpp) on 10, 100 and 1,000
// simulated nodes on virtual time: convergence after a join, messages per
// node, detection of a killed node, false downs over idle minutes with
// loss, and a partition into halves. See README.md.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cluster.hpp"

using namespace troupe::sim;
using troupe::cluster::gossip_status;

namespace {

constexpr micros ms = 1000;
constexpr micros sec = 1000 * ms;

bool gone(const troupe::cluster::member_record* r) {
  return !r || r->status == gossip_status::down ||
         r->status == gossip_status::removed;
}

/// Runs `sim` in steps of 10 ms until `done()` or `limit` passed; returns
/// how long it took, or -1.
template <class F>
micros run_until_true(cluster_sim& sim, micros limit, F done) {
  auto t0 = sim.now();
  while (sim.now() - t0 < limit) {
    if (done())
      return sim.now() - t0;
    sim.run_until(sim.now() + 10 * ms);
  }
  return -1;
}

/// "after N ms", or "not within S s" for -1.
std::string after(micros t, int limit_s) {
  char buf[64];
  if (t < 0)
    std::snprintf(buf, sizeof buf, "NOT within %d s:", limit_s);
  else
    std::snprintf(buf, sizeof buf, "after %.0f ms", t / double(ms));
  return buf;
}

double per_node_per_s(const cluster_sim& sim, micros span, bool bytes) {
  double total = 0;
  size_t live = 0;
  for (size_t i = 0; i < sim.size(); ++i) {
    total += bytes ? sim.sent()[i].bytes : sim.sent()[i].messages;
    live += sim.alive(i);
  }
  return total / static_cast<double>(live) / (span / double(sec));
}

void run(size_t n, const sim_settings& cfg, double loss, int idle_minutes,
         size_t partition_max) {
  auto wall = std::chrono::steady_clock::now();
  auto gossip_ms = cfg.gossip_interval / double(ms);
  cluster_sim sim(n, cfg);
  sim.run_until(5 * sec);
  std::printf("== %zu nodes (k=%zu, heartbeat %lld ms, failure timeout %lld "
              "ms, gossip every %.0f ms to %zu)\n",
              n, cfg.membership.monitors,
              static_cast<long long>(cfg.membership.heartbeat_interval.count()),
              static_cast<long long>(cfg.membership.failure_timeout.count()),
              gossip_ms, cfg.fanout);
  // Idle cost.
  sim.reset_counts();
  sim.run_until(sim.now() + 10 * sec);
  std::printf("  idle, no loss:  %.1f messages/s per node sent (%.0f B/s)\n",
              per_node_per_s(sim, 10 * sec, false),
              per_node_per_s(sim, 10 * sec, true));
  // A join.
  auto j = sim.join();
  auto t_join = run_until_true(sim, 60 * sec, [&] {
    for (size_t i = 0; i < sim.size(); ++i)
      if (sim.alive(i) &&
          (!sim.record(i, j) || sim.record(i, j)->status != gossip_status::up))
        return false;
    return sim.converged();
  });
  std::printf("  join:           all views equal after %.0f ms = %.1f gossip "
              "rounds (log2 N = %.1f)\n",
              t_join / double(ms), t_join / double(cfg.gossip_interval),
              std::log2(double(n)));
  // A kill.
  sim.run_until(sim.now() + 3 * sec);
  auto victim = n / 2;
  auto downs_before = sim.downs().size();
  auto fences_before = sim.fences().size();
  auto t_kill = sim.now();
  sim.kill(victim);
  auto t_all = run_until_true(sim, 30 * sec, [&] {
    for (size_t i = 0; i < sim.size(); ++i)
      if (sim.alive(i) && !gone(sim.record(i, victim)))
        return false;
    return true;
  });
  micros t_first = -1;
  size_t wrong = 0;
  for (size_t i = downs_before; i < sim.downs().size(); ++i) {
    auto& d = sim.downs()[i];
    if (d.whom == victim && t_first < 0)
      t_first = d.at - t_kill;
    wrong += d.whom != victim;
  }
  std::printf("  kill -9 of n%zu: first down after %.0f ms, down in every "
              "view after %.0f ms (bound 3000 ms); other downs %zu, "
              "fences %zu\n",
              victim, t_first / double(ms), t_all / double(ms), wrong,
              sim.fences().size() - fences_before);
  // Idle minutes with loss.
  sim.run_until(sim.now() + 15 * sec); // the dead node is forgotten
  sim.net().settings().loss = loss;
  downs_before = sim.downs().size();
  fences_before = sim.fences().size();
  auto suspicious_before = sim.suspicious_ticks();
  sim.reset_counts();
  auto span = idle_minutes * 60 * sec;
  sim.run_until(sim.now() + span);
  std::printf("  idle %d min, %.1f%% loss: %zu false downs, %zu fences, %llu "
              "node-ticks with a member seen unreachable; %.1f messages/s "
              "per node (%.0f B/s)\n",
              idle_minutes, loss * 100, sim.downs().size() - downs_before,
              sim.fences().size() - fences_before,
              static_cast<unsigned long long>(sim.suspicious_ticks() -
                                              suspicious_before),
              per_node_per_s(sim, span, false),
              per_node_per_s(sim, span, true));
  // A frozen node (SIGSTOP 5 s) under the same loss: downed, and fenced
  // when it wakes.
  auto frozen = n / 3;
  auto t_freeze = sim.now();
  sim.freeze(frozen, t_freeze + 5 * sec);
  auto t_frozen = run_until_true(sim, 30 * sec, [&] {
    for (size_t i = 0; i < sim.size(); ++i)
      if (i != frozen && sim.alive(i) && !gone(sim.record(i, frozen)))
        return false;
    return true;
  });
  fences_before = sim.fences().size();
  sim.run_until(t_freeze + 7 * sec);
  bool fenced = std::any_of(sim.fences().begin() + fences_before,
                            sim.fences().end(), [&](auto& f) {
                              return f.second == frozen;
                            });
  std::printf("  SIGSTOP of n%zu: down in every view after %.0f ms; %s\n",
              frozen, t_frozen / double(ms),
              fenced ? "fenced itself on waking" : "NOT fenced on waking");
  if (n > partition_max) {
    std::printf(
        "  (partition skipped: more than %zu nodes, see --partition-max)\n",
        partition_max);
    std::printf(
        "  (simulated in %.1f s of wall time)\n",
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall)
            .count());
    return;
  }
  // A partition into halves (by index parity; n0 holds the smallest name
  // of the even side... by string order "n0" is the smallest of all).
  sim.run_until(sim.now() + 15 * sec);
  sim.net().settings().loss = 0;
  for (size_t i = 0; i < sim.size(); ++i)
    sim.net().side(i, static_cast<int>(i % 2));
  fences_before = sim.fences().size();
  std::vector<uint64_t> incarnation;
  for (size_t i = 0; i < sim.size(); ++i)
    incarnation.push_back(sim.node(i).self().incarnation);
  auto t_cut = sim.now();
  (void)t_cut;
  auto fenced_since_cut = [&](size_t i) {
    for (auto k = fences_before; k < sim.fences().size(); ++k)
      if (sim.fences()[k].second == i)
        return true;
    return false;
  };
  // Until n0's side downed the other half and each node of the other half
  // fenced itself at least once.
  auto t_settled = run_until_true(sim, 15 * sec, [&] {
    for (size_t i = 1; i < sim.size(); i += 2)
      if (sim.alive(i) && (!gone(sim.record(0, i)) || !fenced_since_cut(i)))
        return false;
    return true;
  });
  size_t fenced_even = 0;
  for (size_t i = 0; i < sim.size(); i += 2)
    fenced_even += fenced_since_cut(i);
  // A side carries on if one of its nodes kept its incarnation and sees
  // most of the other side gone; both doing so would be a split brain.
  auto carries_on = [&](size_t side) {
    for (size_t i = side; i < sim.size(); i += 2) {
      if (!sim.alive(i) || sim.node(i).self().incarnation != incarnation[i])
        continue;
      size_t other = 0;
      size_t gone_there = 0;
      for (size_t jx = 1 - side; jx < sim.size(); jx += 2)
        if (sim.alive(jx)) {
          ++other;
          gone_there += gone(sim.record(i, jx));
        }
      if (2 * gone_there > other)
        return true;
    }
    return false;
  };
  bool even_on = carries_on(0);
  bool odd_on = carries_on(1);
  std::printf("  partition into halves: %s n0's side %s and downed "
              "the other, whose every node fenced itself (%zu fences on n0's "
              "side)%s\n",
              after(t_settled, 15).c_str(),
              even_on ? "carries on" : "does NOT carry on", fenced_even,
              odd_on ? "; SPLIT BRAIN: the other side carries on too" : "");
  // Heal: the fenced nodes rejoin through the seed as new incarnations.
  sim.net().heal();
  auto t_healed = run_until_true(sim, 30 * sec, [&] {
    if (!sim.converged())
      return false;
    // All views are equal: n0's tells.
    for (size_t jx = 0; jx < sim.size(); ++jx)
      if (sim.alive(jx) &&
          (!sim.record(0, jx) ||
           sim.record(0, jx)->status != gossip_status::up ||
           sim.record(0, jx)->incarnation != sim.node(jx).self().incarnation))
        return false;
    return true;
  });
  std::printf("  healed: every node up in every view %s\n",
              after(t_healed, 30).c_str());
  std::printf(
      "  (simulated in %.1f s of wall time)\n",
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall)
          .count());
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Gossip membership and failure detection on simulated nodes"};
  std::vector<size_t> sizes{10, 100, 1000};
  double loss = 0.01;
  int idle_minutes = 10;
  sim_settings cfg;
  long long gossip_ms = 200;
  long long stable_ms = cfg.membership.downing.stable_after.count();
  app.add_option("--nodes", sizes, "cluster sizes");
  app.add_option("--loss", loss, "packet loss in the idle run (0.01 = 1%)");
  app.add_option("--idle-minutes", idle_minutes, "length of the idle run");
  app.add_option("--monitors", cfg.membership.monitors, "k");
  app.add_option("--gossip-ms", gossip_ms, "gossip interval");
  app.add_option("--fanout", cfg.fanout, "gossip partners per round");
  long long push_ms = cfg.push_delay / ms;
  app.add_option("--push-ms", push_ms,
                 "push changes after this delay (0: periodic rounds only)");
  app.add_option("--push-fanout", cfg.push_fanout, "partners of a push");
  app.add_option("--stable-ms", stable_ms, "downing: stable after");
  app.add_option("--seed", cfg.seed, "random seed");
  size_t partition_max = 100;
  app.add_option("--partition-max", partition_max,
                 "largest cluster to partition (1000 takes minutes)");
  CLI11_PARSE(app, argc, argv);
  cfg.gossip_interval = gossip_ms * ms;
  cfg.push_delay = push_ms * ms;
  cfg.membership.downing.stable_after = std::chrono::milliseconds{stable_ms};
  for (auto n : sizes)
    run(n, cfg, loss, idle_minutes, partition_max);
  return 0;
}
