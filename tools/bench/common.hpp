// SPDX-License-Identifier: Apache-2.0
// Shared helpers of the troupe benchmarks: command line, timing, CAF
// scheduler settings and the result rows that run_all.sh collects.
//
// Every benchmark binary accepts:
//   [COUNT]            work size (default: the count)
//   --quick            scale the default count down (also TROUPE_BENCH_QUICK=1)
//   --reps N           repetitions per variant (default 3, ping-pong 7);
//                      the median is reported
//   --set KEY=VALUE    CAF setting for the "same settings" runs (repeatable),
//                      e.g. --set scheduler.max-threads=2
//                      --set work-stealing.moderate-sleep-duration=50us
// and prints one line per comparison:
//   ROW|<benchmark>|<troupe>|<raw CAF>|<ratio troupe/CAF>
// and, where the same work also runs without an actor runtime (plain TCP
// sockets in bench_remote), one line per figure against that floor:
//   BASE|<benchmark>|<plain>|<troupe>|<troupe/plain>|<raw CAF>|<CAF/plain>
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/timespan.hpp>
#include <troupe/error.hpp>
#include <troupe/node/node.hpp>

namespace bench {

using clock = std::chrono::steady_clock;

inline double seconds_since(clock::time_point t0) {
  return std::chrono::duration<double>(clock::now() - t0).count();
}

/// Fulfilled once by the actor that finishes the work; copyable so that it
/// can be an argument of `troupe::spawn`.
using done_flag = std::shared_ptr<std::promise<void>>;

inline done_flag make_done() {
  return std::make_shared<std::promise<void>>();
}

using setting = std::pair<std::string, std::string>;

struct options {
  uint64_t count = 0;
  bool quick = false;
  int reps = 3;
  std::vector<setting> settings;
  std::vector<std::string> args; // other arguments, in order
};

/// Parses the common flags. `full` is the default count, divided by
/// `quick_div` with --quick; `reps` the default number of repetitions.
inline options parse_options(int argc, char** argv, uint64_t full,
                             uint64_t quick_div = 100, int reps = 3) {
  options opts;
  opts.reps = reps;
  if (auto env = std::getenv("TROUPE_BENCH_QUICK"); env && *env && *env != '0')
    opts.quick = true;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--quick") {
      opts.quick = true;
    } else if (arg == "--reps" && i + 1 < argc) {
      opts.reps = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--set" && i + 1 < argc) {
      std::string kv = argv[++i];
      auto eq = kv.find('=');
      if (eq == std::string::npos) {
        std::fprintf(stderr, "--set expects KEY=VALUE, got '%s'\n", kv.c_str());
        std::exit(2);
      }
      opts.settings.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    } else if (arg.rfind("--", 0) == 0 && i + 1 < argc) {
      // A flag of the benchmark itself (`--senders N`): keep it with its value.
      opts.args.push_back(arg);
      opts.args.push_back(argv[++i]);
    } else if (!arg.empty() && arg.find_first_not_of("0123456789") == arg.npos
               && opts.count == 0) {
      opts.count = std::stoull(arg);
    } else {
      opts.args.push_back(arg);
    }
  }
  if (opts.count == 0)
    opts.count = opts.quick ? std::max<uint64_t>(1, full / quick_div) : full;
  return opts;
}

/// "50us", "10ms", "0", "1000ns" -> timespan.
inline caf::timespan parse_timespan(const std::string& text) {
  size_t pos = 0;
  auto n = std::stoll(text, &pos);
  auto unit = text.substr(pos);
  using namespace std::chrono;
  if (unit == "ns" || unit.empty())
    return caf::timespan{nanoseconds{n}};
  if (unit == "us")
    return duration_cast<caf::timespan>(microseconds{n});
  if (unit == "ms")
    return duration_cast<caf::timespan>(milliseconds{n});
  if (unit == "s")
    return duration_cast<caf::timespan>(seconds{n});
  throw std::invalid_argument("bad duration: " + text);
}

/// Applies scheduler and work-stealing settings: keys ending in "duration"
/// take a duration, all others an unsigned number.
inline void apply(caf::actor_system_config& cfg,
                  const std::vector<setting>& settings) {
  for (auto& [key, value] : settings) {
    if (key.size() >= 8 && key.compare(key.size() - 8, 8, "duration") == 0)
      cfg.set(key, parse_timespan(value));
    else
      cfg.set(key, static_cast<size_t>(std::stoull(value)));
  }
}

/// The settings as one short string, for labels.
inline std::string describe(const std::vector<setting>& settings) {
  if (settings.empty())
    return "CAF defaults";
  std::string out;
  for (auto& [key, value] : settings) {
    if (!out.empty())
      out += ' ';
    auto dot = key.find('.');
    out += (dot == std::string::npos ? key : key.substr(dot + 1)) + '=' + value;
  }
  return out;
}

/// The thread count a troupe node uses by default: one per core.
inline size_t node_default_threads() {
  return std::max(1u, std::thread::hardware_concurrency());
}

/// Runs `f(sys)` on a fresh CAF actor system configured with `settings`
/// (nothing but CAF's defaults when empty) and returns its result.
template <class F>
double with_caf_system(const std::vector<setting>& settings, F f) {
  caf::actor_system_config cfg;
  apply(cfg, settings);
  caf::actor_system sys{cfg};
  return f(sys);
}

/// Runs `f(sys)` on the actor system of a started troupe node with default
/// settings (only the log is quieter) and returns its result.
template <class F>
double with_troupe_node(F f) {
  troupe::node_config nc;
  nc.log = troupe::log_level::warn;
  // TROUPE_SCHEDULER=troupe|caf: the node's scheduler (before/after).
  if (auto s = std::getenv("TROUPE_SCHEDULER"))
    nc.troupe_scheduler = std::string{s} == "troupe";
  // TROUPE_BENCH_THREADS=N: the node's worker threads (default: cores).
  if (auto s = std::getenv("TROUPE_BENCH_THREADS"))
    nc.threads = static_cast<size_t>(std::atoi(s));
  troupe::node n{nc};
  if (auto err = n.start()) {
    std::fprintf(stderr, "node start failed: %s\n",
                 troupe::describe(err).c_str());
    std::exit(1);
  }
  auto result = f(n.system());
  n.shutdown();
  return result;
}

/// Runs `troupe_run` and `caf_run` (each returns a measurement) `reps`
/// times, alternating which goes first, and returns both medians.
template <class F, class G>
std::pair<double, double> median_pair(int reps, F troupe_run, G caf_run) {
  std::vector<double> t, c;
  static const bool verbose = std::getenv("TROUPE_BENCH_VERBOSE") != nullptr;
  // TROUPE_BENCH_ONLY=troupe|caf runs one side only (for profiling); the
  // other side reports 0.
  static const std::string only = [] {
    auto env = std::getenv("TROUPE_BENCH_ONLY");
    return std::string{env ? env : ""};
  }();
  for (int i = 0; i < reps; ++i) {
    if (!only.empty()) {
      t.push_back(only == "caf" ? 0.0 : troupe_run());
      c.push_back(only == "troupe" ? 0.0 : caf_run());
    } else if (i % 2 == 0) {
      t.push_back(troupe_run());
      c.push_back(caf_run());
    } else {
      c.push_back(caf_run());
      t.push_back(troupe_run());
    }
    if (verbose)
      std::fprintf(stderr, "  rep %d: troupe %.0f, caf %.0f\n", i, t.back(),
                   c.back());
  }
  auto med = [](std::vector<double>& v) {
    std::sort(v.begin(), v.end());
    auto n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  };
  return {med(t), med(c)};
}

/// Prints one result row (ratio = troupe / raw CAF).
inline void row(const std::string& name, double troupe, double caf,
                const char* fmt = "%.0f");

/// Prints one row that sets troupe and raw CAF against `plain`, the same work
/// done without an actor runtime (ratios = troupe / plain, raw CAF / plain).
inline void baseline_row(const std::string& name, double plain, double troupe,
                         double caf, const char* fmt = "%.0f");

/// Runs the standard rows of a throughput benchmark. `troupe_run(sys)` and
/// `caf_run(sys)` do the same work with troupe or plain CAF actors on `sys`
/// and return a rate.
///   same settings: identically configured systems, CAF's defaults and the
///                  node's thread count (or only the --set settings);
///   defaults:      a troupe node with its defaults vs CAF's defaults.
/// Extra arguments `same` or `defaults` restrict the rows; `caf-defaults`
/// runs only the same-settings row with CAF's defaults.
template <class F, class G>
void run_rows(const options& opts, const std::string& what,
              const std::string& unit, F troupe_run, G caf_run) {
  auto has = [&](const char* x) {
    return std::find(opts.args.begin(), opts.args.end(), x) != opts.args.end();
  };
  auto wants = [&](const char* x) { return opts.args.empty() || has(x); };
  auto same = [&](const std::vector<setting>& settings) {
    auto [t, c] = median_pair(
      opts.reps, [&] { return with_caf_system(settings, troupe_run); },
      [&] { return with_caf_system(settings, caf_run); });
    row(what + ", same settings (" + describe(settings) + ") [" + unit + "]",
        t, c);
  };
  if (has("caf-defaults")) {
    same({});
  } else if (wants("same")) {
    if (!opts.settings.empty()) {
      same(opts.settings);
    } else {
      same({});
      same({{"scheduler.max-threads", std::to_string(node_default_threads())}});
    }
  }
  if (wants("defaults")) {
    auto [t, c] = median_pair(
      opts.reps, [&] { return with_troupe_node(troupe_run); },
      [&] { return with_caf_system({}, caf_run); });
    row(what + ", troupe node defaults vs CAF defaults [" + unit + "]", t, c);
  }
}

inline void row(const std::string& name, double troupe, double caf,
                const char* fmt) {
  char t[64], c[64];
  std::snprintf(t, sizeof(t), fmt, troupe);
  std::snprintf(c, sizeof(c), fmt, caf);
  std::printf("ROW|%s|%s|%s|%.2fx\n", name.c_str(), t, c,
              caf > 0 ? troupe / caf : 0.0);
  std::fflush(stdout);
}

inline void baseline_row(const std::string& name, double plain, double troupe,
                         double caf, const char* fmt) {
  char p[64], t[64], c[64];
  std::snprintf(p, sizeof(p), fmt, plain);
  std::snprintf(t, sizeof(t), fmt, troupe);
  std::snprintf(c, sizeof(c), fmt, caf);
  auto ratio = [plain](double x) { return plain > 0 ? x / plain : 0.0; };
  std::printf("BASE|%s|%s|%s|%.2fx|%s|%.2fx\n", name.c_str(), p, t,
              ratio(troupe), c, ratio(caf));
  std::fflush(stdout);
}

} // namespace bench
