// SPDX-License-Identifier: Apache-2.0
// Spawn: spawns COUNT idle actors (default 1,000,000) and keeps them alive;
// prints spawns per second and memory per actor for troupe actors and for
// plain CAF actors, under the same scheduler settings (the node's thread
// count, or the --set settings).
//
// The clock stops when the last actor has run its init function. Memory per
// actor is the growth of malloc's bytes in use (mallinfo2) and of the
// resident set (/proc/self/statm) over the spawns, divided by COUNT. Each
// measurement runs in a fresh forked process, so that memory freed by an
// earlier run does not hide the growth of a later one.
//
// Extra argument `node`: the troupe side spawns through `troupe::node::spawn`
// on a node with default settings (which also tracks each actor), and the
// CAF side uses CAF's defaults.
#include <atomic>
#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <troupe/actor/spawn.hpp>

#include "common.hpp"

namespace {

struct sample {
  double rate = 0;      // spawns/s
  double heap = 0;      // malloc'd bytes per actor
  double rss = 0;       // resident bytes per actor
};

// Set before the spawns of one measurement (one per process).
uint64_t target = 0;
std::atomic<uint64_t> started{0};
std::promise<void> all_started;

void count_start() {
  if (started.fetch_add(1, std::memory_order_relaxed) + 1 == target)
    all_started.set_value();
}

struct idle_state {
  static inline const char* name = "bench.idle";
};

caf::behavior troupe_idle(troupe::stateful_actor<idle_state>*) {
  count_start();
  return {[](int) {}};
}

caf::behavior caf_idle(caf::event_based_actor*) {
  count_start();
  return {[](int) {}};
}

size_t heap_in_use() {
  auto mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

size_t rss_bytes() {
  long pages = 0, resident = 0;
  if (auto f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2)
      resident = 0;
    std::fclose(f);
  }
  return static_cast<size_t>(resident) * sysconf(_SC_PAGESIZE);
}

template <class Spawn>
sample measure(uint64_t n, Spawn spawn) {
  target = n;
  auto finished = all_started.get_future();
  std::vector<caf::actor> actors;
  actors.reserve(n);
  auto heap0 = heap_in_use();
  auto rss0 = rss_bytes();
  auto t0 = bench::clock::now();
  for (uint64_t i = 0; i < n; ++i)
    actors.push_back(spawn());
  finished.wait();
  sample s;
  s.rate = static_cast<double>(n) / bench::seconds_since(t0);
  s.heap = static_cast<double>(heap_in_use() - heap0) / n;
  s.rss = static_cast<double>(rss_bytes() - rss0) / n;
  return s;
}

// Runs `f()` (which returns a sample) in a forked child and returns its
// result. Called before any actor system exists in this process.
template <class F>
sample in_child(F f) {
  int fds[2];
  if (pipe(fds) != 0) {
    std::perror("pipe");
    std::exit(1);
  }
  std::fflush(stdout);
  auto pid = fork();
  if (pid < 0) {
    std::perror("fork");
    std::exit(1);
  }
  if (pid == 0) {
    close(fds[0]);
    auto s = f();
    auto rc = write(fds[1], &s, sizeof(s)) == sizeof(s) ? 0 : 1;
    // Skip tearing down a million actors: the parent has what it needs.
    _exit(rc);
  }
  close(fds[1]);
  sample s;
  auto got = read(fds[0], &s, sizeof(s));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (got != sizeof(s) || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "spawn measurement failed in child %d\n", (int) pid);
    std::exit(1);
  }
  return s;
}

sample median(std::vector<sample> xs) {
  auto pick = [&](double sample::*field) {
    std::vector<double> v;
    for (auto& x : xs)
      v.push_back(x.*field);
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  return {pick(&sample::rate), pick(&sample::heap), pick(&sample::rss)};
}

} // namespace

int main(int argc, char** argv) {
  auto opts = bench::parse_options(argc, argv, 1'000'000);
  auto n = opts.count;
  bool via_node = std::find(opts.args.begin(), opts.args.end(), "node")
                  != opts.args.end();
  auto settings = opts.settings;
  if (settings.empty() && !via_node)
    settings = {{"scheduler.max-threads",
                 std::to_string(bench::node_default_threads())}};
  auto troupe_sample = [&] {
    if (via_node) {
      troupe::node_config nc;
      nc.log = troupe::log_level::warn;
      troupe::node nd{nc};
      if (nd.start())
        std::exit(1);
      return measure(n, [&] { return nd.spawn(troupe_idle); });
    }
    sample s;
    bench::with_caf_system(settings, [&](caf::actor_system& sys) {
      s = measure(n, [&] { return troupe::spawn(sys, troupe_idle); });
      return 0.0;
    });
    return s;
  };
  auto caf_sample = [&] {
    sample s;
    bench::with_caf_system(via_node ? std::vector<bench::setting>{} : settings,
                           [&](caf::actor_system& sys) {
                             s = measure(n, [&] { return sys.spawn(caf_idle); });
                             return 0.0;
                           });
    return s;
  };
  std::vector<sample> ts, cs;
  for (int i = 0; i < opts.reps; ++i) {
    ts.push_back(in_child(troupe_sample));
    cs.push_back(in_child(caf_sample));
  }
  auto t = median(ts);
  auto c = median(cs);
  auto label = "spawn " + std::to_string(n) + " idle actors, "
               + (via_node ? std::string{"node::spawn, node defaults vs CAF "
                                         "defaults"}
                           : "same settings (" + bench::describe(settings)
                               + ")");
  bench::row(label + " [spawns/s]", t.rate, c.rate);
  bench::row(label + " [heap bytes/actor, lower is better]", t.heap, c.heap);
  bench::row(label + " [RSS bytes/actor, lower is better]", t.rss, c.rss);
  return 0;
}
