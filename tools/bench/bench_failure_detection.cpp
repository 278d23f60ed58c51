// SPDX-License-Identifier: Apache-2.0
// Failure detection: how long a cluster takes to mark a node down after its
// process is killed (kill -9) or frozen (SIGSTOP), in milliseconds from the
// signal to the event, as median (min-max) over TRIALS trials of each
// (default 5, --quick 1; COUNT, --trials N or --reps N, at most 25).
// Targets: kill -9 marked down within 1 s, SIGSTOP within 3 s at defaults.
//
// troupe: an observer node "observer" with default settings (heartbeat
// 200 ms, failure timeout 1600 ms) subscribes to member events; a victim
// node "victim-<k>" joins it as its seed. Timed from the signal to the
// `member_event` that says the victim is down. Each trial has a fresh
// observer as well as a fresh victim: an observer that had already lost
// frozen victims would count them as unreachable members and, by the
// keep-majority rule, fence itself when the next one froze.
// Raw CAF, run twice: an observer actor system connects to an actor that
// the victim publishes (`remote_actor`), monitors the proxy and is timed
// from the signal to the `down_msg`; once with CAF's defaults (heartbeats
// off, so a frozen process is never noticed) and once with troupe's
// heartbeat settings on both sides (`middleman.heartbeat-interval`,
// `middleman.connection-timeout`). Every wait for a detection is bounded by
// --wait S (default 10, at most 60); a trial past it counts as "not
// detected within S s".
//
// This binary is the observer; it starts itself as the victim of each
// trial (see remote_common.hpp):
//   bench_failure_detection serve troupe NAME --seeds HOST:PORT
//   bench_failure_detection serve caf|caf-heartbeats
// which prints `PORT <n>` once it listens (a troupe victim once start()
// has joined it to the observer). The observer signals only that child, by
// PID, then kills it (a frozen one too) and reaps it.
#include <array>
#include <functional>
#include <optional>

#include <caf/after.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include "remote_common.hpp"

namespace {

using namespace bench::remote;
using namespace std::chrono_literals;

constexpr uint64_t max_trials = 25;
constexpr uint64_t max_wait_s = 60;

/// What a troupe node uses unless configured otherwise.
const troupe::failure_detector_settings fd_defaults{};

/// Raw CAF: the middleman and, with `heartbeats`, troupe's default
/// failure-detector settings (CAF ships with heartbeats off).
void configure(caf::actor_system_config& cfg, bool heartbeats) {
  cfg.load<caf::io::middleman>();
  if (heartbeats) {
    cfg.set("middleman.heartbeat-interval",
            caf::timespan{fd_defaults.heartbeat_interval});
    cfg.set("middleman.connection-timeout",
            caf::timespan{fd_defaults.failure_timeout});
  }
}

/// The value of the benchmark's own flag `--NAME VALUE`, or "".
std::string text_flag(const bench::options& opts, const std::string& name) {
  for (size_t i = 0; i + 1 < opts.args.size(); ++i)
    if (opts.args[i] == name)
      return opts.args[i + 1];
  return {};
}

int serve(const std::string& kind, const bench::options& opts) {
  if (kind == "troupe") {
    auto nc = node_cfg();
    nc.name = opts.args.size() >= 3 ? opts.args[2] : "victim";
    nc.seeds = {text_flag(opts, "--seeds")};
    troupe::node n{nc};
    if (auto err = n.start())
      fail(troupe::describe(err));
    std::printf("PORT %u\n", static_cast<unsigned>(n.port()));
    std::fflush(stdout);
    return n.run();
  }
  // Raw CAF: every thread inherits the blocked signals; main waits for them.
  auto sigs = block_stop_signals();
  caf::actor_system_config cfg;
  configure(cfg, kind == "caf-heartbeats");
  caf::actor_system sys{cfg};
  auto target = sys.spawn([]() -> caf::behavior {
    return {[](int32_t x) { return x; }};
  });
  auto port = sys.middleman().publish(target, 0, "127.0.0.1", true);
  if (!port)
    fail(sys.render(port.error()));
  std::printf("PORT %u\n", static_cast<unsigned>(*port));
  std::fflush(stdout);
  await_stop_signal(sigs);
  caf::anon_send_exit(target, caf::exit_reason::user_shutdown);
  return 0;
}

double ms_since(bench::clock::time_point t0) {
  return bench::seconds_since(t0) * 1e3;
}

/// Kills a victim (a frozen one too; one killed already is a zombie until
/// reaped, so its PID is still its own) and reaps it.
void end_victim(child& c) {
  kill(c.pid, SIGKILL);
  finish(c, false, 10s);
}

/// Waits for a member event about `name` with `status`, at most `timeout`.
bool await_status(caf::scoped_actor& self, const std::string& name,
                  troupe::member_status status,
                  std::chrono::milliseconds timeout) {
  auto deadline = bench::clock::now() + timeout;
  bool seen = false;
  while (!seen && bench::clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - bench::clock::now());
    self->receive(
      [&](const troupe::member_event& ev) {
        seen = ev.member.name == name && ev.member.status == status;
      },
      caf::after(std::max(left, 1ms)) >> [] {});
  }
  return seen;
}

/// One troupe trial: milliseconds from `sig` to the victim marked down, or
/// nothing when that took longer than `wait`.
std::optional<double> troupe_trial(int sig, const std::string& victim,
                                   std::chrono::seconds wait) {
  auto nc = node_cfg();
  nc.name = "observer";
  nc.log = troupe::log_level::error; // not a warning per victim marked down
  troupe::node n{nc};
  if (auto err = n.start())
    fail(troupe::describe(err));
  std::optional<double> ms;
  {
    caf::scoped_actor events{n.system()};
    n.subscribe_members(events);
    auto c = start_server({"serve", "troupe", victim, "--seeds",
                           "127.0.0.1:" + std::to_string(n.port())},
                          bench::options{});
    if (!await_status(events, victim, troupe::member_status::up, 30s))
      fail(victim + " did not come up within 30 s");
    auto t0 = bench::clock::now();
    kill(c.pid, sig);
    if (await_status(events, victim, troupe::member_status::down, wait))
      ms = ms_since(t0);
    end_victim(c);
  }
  n.shutdown();
  return ms;
}

/// One raw CAF trial: milliseconds from `sig` to the down_msg of the
/// victim's actor, or nothing when that took longer than `wait`.
std::optional<double> caf_trial(int sig, bool heartbeats,
                                std::chrono::seconds wait) {
  caf::actor_system_config cfg;
  configure(cfg, heartbeats);
  caf::actor_system sys{cfg};
  auto c = start_server({"serve", heartbeats ? "caf-heartbeats" : "caf"},
                        bench::options{});
  std::optional<double> ms;
  {
    auto target = sys.middleman().remote_actor("127.0.0.1", c.port);
    if (!target)
      fail(sys.render(target.error()));
    caf::scoped_actor self{sys};
    self->monitor(*target);
    auto t0 = bench::clock::now();
    kill(c.pid, sig);
    self->receive(
      [&](const caf::down_msg& dm) {
        if (dm.source == target->address())
          ms = ms_since(t0);
      },
      caf::after(wait) >> [] {});
  }
  end_victim(c);
  return ms;
}

/// "median (min-max)" of the detected trials, and how many were not.
struct detection {
  std::string text;
  double median = 0;
  bool any = false;
};

detection describe_ms(const std::vector<std::optional<double>>& xs,
                      uint64_t wait_s) {
  std::vector<double> v;
  for (auto& x : xs)
    if (x)
      v.push_back(*x);
  detection d;
  auto missed = xs.size() - v.size();
  auto not_detected = std::to_string(missed) + " of "
                      + std::to_string(xs.size()) + " not detected within "
                      + std::to_string(wait_s) + " s";
  if (v.empty()) {
    d.text = "not detected within " + std::to_string(wait_s) + " s";
    return d;
  }
  std::sort(v.begin(), v.end());
  auto n = v.size();
  d.median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  d.any = true;
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%.1f (%.1f-%.1f)", d.median, v.front(),
                v.back());
  d.text = buf;
  if (missed > 0)
    d.text += ", " + not_detected;
  return d;
}

/// A result row whose figures are texts (ratio of the medians, or "-").
void detection_row(const std::string& name,
                   const std::vector<std::optional<double>>& troupe,
                   const std::vector<std::optional<double>>& caf,
                   uint64_t wait_s) {
  auto t = describe_ms(troupe, wait_s);
  auto c = describe_ms(caf, wait_s);
  char ratio[32] = "-";
  if (t.any && c.any && c.median > 0)
    std::snprintf(ratio, sizeof(ratio), "%.2fx", t.median / c.median);
  std::printf("ROW|%s|%s|%s|%s\n", name.c_str(), t.text.c_str(),
              c.text.c_str(), ratio);
  std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
  auto opts = bench::parse_options(argc, argv, 5, 5, 0);
  if (opts.args.size() >= 2 && opts.args[0] == "serve")
    return serve(opts.args[1], opts);
  auto trials = std::clamp<uint64_t>(
    flag(opts, "--trials",
         opts.reps > 0 ? static_cast<uint64_t>(opts.reps) : opts.count),
    1, max_trials);
  auto wait_s = std::clamp<uint64_t>(flag(opts, "--wait", 10), 1, max_wait_s);
  std::chrono::seconds wait{wait_s};
  struct scenario {
    const char* what;
    int sig;
  };
  const std::array<scenario, 2> scenarios{{{"kill -9", SIGKILL},
                                           {"SIGSTOP", SIGSTOP}}};
  // Per scenario: troupe, raw CAF with defaults, raw CAF with heartbeats.
  using results = std::array<std::vector<std::optional<double>>, 3>;
  std::array<results, 2> ms;
  static const bool verbose = std::getenv("TROUPE_BENCH_VERBOSE") != nullptr;
  uint64_t victims = 0;
  for (uint64_t i = 0; i < trials; ++i) {
    for (size_t s = 0; s < scenarios.size(); ++s) {
      auto sig = scenarios[s].sig;
      std::array<std::function<std::optional<double>()>, 3> runs{
        [&] {
          return troupe_trial(sig, "victim-" + std::to_string(victims++),
                              wait);
        },
        [&] { return caf_trial(sig, false, wait); },
        [&] { return caf_trial(sig, true, wait); }};
      // A different variant goes first in each trial.
      for (size_t j = 0; j < runs.size(); ++j) {
        auto v = (i + j) % runs.size();
        ms[s][v].push_back(runs[v]());
      }
      if (verbose) {
        auto show = [](const std::optional<double>& x) {
          char buf[32] = "-";
          if (x)
            std::snprintf(buf, sizeof(buf), "%.1f", *x);
          return std::string{buf};
        };
        std::fprintf(stderr, "  trial %llu %s: troupe %s ms, caf %s ms, "
                     "caf-heartbeats %s ms\n",
                     static_cast<unsigned long long>(i), scenarios[s].what,
                     show(ms[s][0].back()).c_str(),
                     show(ms[s][1].back()).c_str(),
                     show(ms[s][2].back()).c_str());
      }
    }
  }
  auto unit = " [ms until marked down, median (min-max) of "
              + std::to_string(trials) + ", lower is better]";
  auto heartbeats = "CAF with troupe's heartbeat "
                    + std::to_string(fd_defaults.heartbeat_interval.count())
                    + " ms, timeout "
                    + std::to_string(fd_defaults.failure_timeout.count())
                    + " ms";
  for (size_t s = 0; s < scenarios.size(); ++s) {
    auto label = std::string{"failure detection after "} + scenarios[s].what
                 + ", node defaults vs ";
    detection_row(label + "CAF defaults" + unit, ms[s][0], ms[s][1], wait_s);
    detection_row(label + heartbeats + unit, ms[s][0], ms[s][2], wait_s);
  }
  return 0;
}
