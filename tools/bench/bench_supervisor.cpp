// SPDX-License-Identifier: Apache-2.0
// Supervision: restarts, starting and stopping a tree, and the cost of being
// supervised. The troupe side runs on a troupe node's actor system with its
// defaults (troupe's scheduler), raw CAF on a plain CAF system with as many
// threads; with --set settings both run on plain CAF systems with only
// those. Flags: see bench::parse_options (common.hpp).
//
// restart     COUNT cycles (default 100,000) of "a request makes the child
//             throw, then a request to it is answered", timed per cycle from
//             sending the failing request until the answer, by one driver
//             actor (plain CAF, the same for both sides). troupe: the child
//             runs under spawn_supervisor and restarts in place (same handle).
//             Raw CAF: a supervisor actor monitors the child; the throwing
//             handler ends the child; on the down message the supervisor
//             spawns a new one and sends its handle to the driver, which
//             waits for both the error and the new handle.
// tree        1 root, 100 supervisors x 100 workers (--sups N, --workers N):
//             time until every worker ran its init, and time from the exit
//             request until the root is down. Raw CAF: plain actors that
//             spawn and monitor their children (and respawn them) and on an
//             exit request stop them all at once, or one at a time in reverse
//             as troupe supervisors do, then exit.
// flat        one supervisor of 10,000 workers (--flat-workers N), no level
//             between: start and ordered shutdown as for the tree. Raw CAF:
//             one plain actor that spawns and monitors them and stops them
//             one at a time in reverse.
// throughput  one troupe actor handles 1,000,000 one-way messages
//             (--messages N) from a detached sender, then a request; spawned
//             under a supervisor (troupe column) vs plainly (CAF column).
// Extra arguments `restart`, `tree`, `flat`, `throughput` run only those
// parts. `--side troupe` (or `caf`) runs only that side, for a profiler: the
// other column then reads 0. TROUPE_BENCH_VERBOSE=1 prints each run on
// stderr.
#include "supervisor_tree.hpp"

namespace {

using namespace bench::sup;

/// Which variants run: all, or only troupe's (the first) or only CAF's.
enum class side { both, troupe, caf };

/// Whether the troupe column runs on a troupe node (no --set settings).
bool troupe_on_node = false;

side only = side::both;

// Runs each variant `reps` times on a fresh system, rotating which goes first.
template <class S>
std::vector<std::vector<S>>
rounds(const std::vector<bench::setting>& settings, int reps,
       std::vector<std::function<S(caf::actor_system&)>> fs) {
  std::vector<std::vector<S>> out(fs.size());
  for (int rep = 0; rep < reps; ++rep)
    for (size_t j = 0; j < fs.size(); ++j) {
      auto v = (j + static_cast<size_t>(rep)) % fs.size();
      if ((only == side::troupe && v != 0) || (only == side::caf && v == 0))
        continue;
      auto run = [&](caf::actor_system& sys) {
        out[v].push_back(fs[v](sys));
        return 0.0;
      };
      // With node defaults the troupe column runs on a node's own system
      // (its scheduler included), as troupe users' actors do.
      if (v == 0 && troupe_on_node)
        bench::with_troupe_node(run);
      else
        bench::with_caf_system(settings, run);
    }
  return out;
}

template <class S>
double median(const std::vector<S>& xs, double S::*field) {
  std::vector<double> v;
  for (auto& x : xs)
    v.push_back(x.*field);
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  auto k = v.size();
  return k % 2 == 1 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

struct rate_sample {
  double rate = 0;
};

} // namespace

int main(int argc, char** argv) {
  auto opts = bench::parse_options(argc, argv, 100'000);
  auto flag = [&](const char* name, uint64_t full, uint64_t quick) {
    for (size_t i = 0; i + 1 < opts.args.size(); ++i)
      if (opts.args[i] == name)
        return static_cast<uint64_t>(std::stoull(opts.args[i + 1]));
    return opts.quick ? quick : full;
  };
  auto has = [&](const char* x) {
    return std::find(opts.args.begin(), opts.args.end(), x) != opts.args.end();
  };
  auto wants = [&](const char* part) {
    return has(part)
           || !(has("restart") || has("tree") || has("flat")
                || has("throughput"));
  };
  for (size_t i = 0; i + 1 < opts.args.size(); ++i)
    if (opts.args[i] == "--side")
      only = opts.args[i + 1] == "troupe" ? side::troupe
             : opts.args[i + 1] == "caf"  ? side::caf
                                          : side::both;
  // Without --set: the troupe column on a node with its defaults, raw
  // CAF's with the settings a node used to give CAF's scheduler.
  auto settings = opts.settings;
  troupe_on_node = settings.empty();
  if (settings.empty())
    settings = {{"scheduler.max-threads",
                 std::to_string(bench::node_default_threads())},
                {"work-stealing.moderate-sleep-duration", "0"},
                {"scheduler.max-throughput", "100"}};
  auto same = opts.settings.empty()
                ? std::string{"troupe: node defaults, CAF: as many threads"}
                : bench::describe(settings);
  if (wants("restart")) {
    auto n = opts.count;
    auto r = rounds<restart_sample>(
      settings, opts.reps,
      {[n](caf::actor_system& sys) { return troupe_restart(sys, n); },
       [n](caf::actor_system& sys) { return caf_restart(sys, n); }});
    auto label = "supervisor restart (crash, then next request), "
                 + std::to_string(n) + " cycles, " + same;
    auto f = &restart_sample::rate;
    bench::row(label + " [restarts/s]", median(r[0], f), median(r[1], f));
    f = &restart_sample::p50;
    bench::row(label + " [p50 us per cycle, lower is better]", median(r[0], f),
               median(r[1], f), "%.2f");
    f = &restart_sample::p99;
    bench::row(label + " [p99 us per cycle, lower is better]", median(r[0], f),
               median(r[1], f), "%.2f");
  }
  if (wants("tree")) {
    size_t sups = flag("--sups", 100, 10), workers = flag("--workers", 100, 100);
    auto t = rounds<tree_sample>(
      settings, opts.reps,
      {[=](caf::actor_system& sys) { return troupe_tree(sys, sups, workers); },
       [=](caf::actor_system& sys) {
         return caf_tree_run(sys, sups, workers, false);
       },
       [=](caf::actor_system& sys) {
         return caf_tree_run(sys, sups, workers, true);
       }});
    auto label = "supervision tree 1+" + std::to_string(sups) + "x"
                 + std::to_string(workers) + ", " + same;
    auto start = &tree_sample::start_ms, stop = &tree_sample::stop_ms;
    auto ms = " [ms, lower is better]";
    bench::row(label + ", start" + ms, median(t[0], start),
               median(t[1], start), "%.1f");
    bench::row(label + ", shutdown (CAF: all children at once)" + ms,
               median(t[0], stop), median(t[1], stop), "%.1f");
    bench::row(label + ", shutdown (CAF: one at a time, reverse)" + ms,
               median(t[0], stop), median(t[2], stop), "%.1f");
  }
  if (wants("flat")) {
    size_t workers = flag("--flat-workers", 10'000, 1'000);
    auto t = rounds<tree_sample>(
      settings, opts.reps,
      {[=](caf::actor_system& sys) { return troupe_flat(sys, workers); },
       [=](caf::actor_system& sys) { return caf_flat(sys, workers); }});
    auto label = "supervisor of " + std::to_string(workers) + " workers, "
                 + same;
    auto ms = " [ms, lower is better]";
    bench::row(label + ", start" + ms, median(t[0], &tree_sample::start_ms),
               median(t[1], &tree_sample::start_ms), "%.1f");
    bench::row(label + ", shutdown (CAF: one at a time, reverse)" + ms,
               median(t[0], &tree_sample::stop_ms),
               median(t[1], &tree_sample::stop_ms), "%.1f");
  }
  if (wants("throughput")) {
    auto m = flag("--messages", 1'000'000, 10'000);
    auto t = rounds<rate_sample>(
      settings, opts.reps,
      {[m](caf::actor_system& sys) {
         return rate_sample{throughput(sys, m, true)};
       },
       [m](caf::actor_system& sys) {
         return rate_sample{throughput(sys, m, false)};
       }});
    auto f = &rate_sample::rate;
    bench::row("troupe actor supervised (CAF column: unsupervised), "
                 + std::to_string(m) + " one-way msgs, " + same + " [msgs/s]",
               median(t[0], f), median(t[1], f));
  }
  return 0;
}
