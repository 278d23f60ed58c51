// SPDX-License-Identifier: Apache-2.0
// The troupe side of bench_persistence: an event-sourced counter, the
// journal service around a run, prefilling a journal, and the timed runs.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <troupe/actor/spawn.hpp>
#include <troupe/persistence/event_sourced.hpp>
#include <troupe/persistence/journal_service.hpp>
#include <troupe/persistence/sql_journals.hpp>

#include "bench/persist.pb.h"
#include "persist_raw.hpp"

namespace bench::persist {

namespace tp = troupe::persistence;

using add_atom = caf::atom_constant<caf::atom("add")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using run_atom = caf::atom_constant<caf::atom("run")>;
using counter_actor = tp::event_sourced<bench::CounterState, bench::CounterEvent>;

[[noreturn]] inline void die(const std::string& what) {
  std::fprintf(stderr, "bench_persistence: %s\n", what.c_str());
  std::exit(1);
}

/// Counts actors that finished a phase; `seen` sums the event counts of the
/// states they answered with (a check that recovery replayed everything).
struct tracker {
  std::atomic<uint64_t> left{0};
  std::atomic<uint64_t> seen{0};
  std::mutex mtx;
  std::condition_variable cv;
  bool finished = false;

  void arm(uint64_t n) {
    std::lock_guard<std::mutex> guard{mtx};
    finished = false;
    seen = 0;
    left = n;
  }

  void hit() {
    if (left.fetch_sub(1) == 1) {
      std::lock_guard<std::mutex> guard{mtx};
      finished = true;
      cv.notify_all();
    }
  }

  void wait(const char* what) {
    std::unique_lock<std::mutex> guard{mtx};
    if (!cv.wait_for(guard, std::chrono::minutes{10}, [&] { return finished; }))
      die(std::string{"timed out: "} + what);
  }
};

using tracker_ptr = std::shared_ptr<tracker>;

inline void apply_counter(bench::CounterState& s, const bench::CounterEvent& e) {
  s.set_total(s.total() + e.add());
  s.set_events(s.events() + 1);
}

inline bench::CounterEvent make_event(const std::string& data) {
  bench::CounterEvent ev;
  ev.set_add(1);
  ev.set_data(data);
  return ev;
}

/// `(add, n)`: persists and answers the total once durable. `(ping)`: tells
/// the tracker (the first answer after recovery). `(run, n)`: persists n
/// events one after the other, each sent to itself once the previous one
/// was acknowledged, then tells the tracker.
inline caf::behavior counter(counter_actor* self, std::string key,
                             tp::snapshot_policy policy,
                             std::shared_ptr<const std::string> data,
                             tracker_ptr tr) {
  self->setup({"counter", key}, apply_counter, policy);
  return {
    [self, data](add_atom, int64_t) -> caf::result<int64_t> {
      auto rp = self->make_response_promise<int64_t>();
      self->persist(make_event(*data),
                    [rp](const bench::CounterState& s) mutable {
                      rp.deliver(static_cast<int64_t>(s.total()));
                    });
      return rp;
    },
    [self, tr](ping_atom) {
      tr->seen += self->state().events();
      tr->hit();
    },
    [self, data, tr](run_atom, uint64_t left) {
      self->persist(make_event(*data), [self, tr, left] {
        if (left > 1)
          self->send(self, run_atom::value, left - 1);
        else
          tr->hit();
      });
    },
  };
}

inline std::string pid_of(const std::string& key) {
  return "counter|" + key;
}

/// Runs `f(sys, svc)` on a fresh actor system whose persistent actors use a
/// journal service on `where`.
template <class F>
auto with_journal(const std::vector<setting>& settings,
                  const std::string& where, F f) {
  auto svc = tp::journal_service::start(where);
  if (!svc)
    die("journal service on " + where + ": " + troupe::describe(svc.error()));
  decltype(f(std::declval<caf::actor_system&>(), **svc)) out{};
  {
    caf::actor_system_config cfg;
    apply(cfg, settings);
    caf::actor_system sys{cfg};
    tp::attach_journal_service(sys, *svc);
    out = f(sys, **svc);
    tp::attach_journal_service(sys, nullptr);
  }
  (*svc)->stop();
  return out;
}

/// Spawns the counters `keys`, waits until each answered a ping.
inline std::vector<caf::actor>
spawn_counters(caf::actor_system& sys, const std::vector<std::string>& keys,
               const std::shared_ptr<const std::string>& data,
               const tracker_ptr& tr, tp::snapshot_policy policy = {}) {
  std::vector<caf::actor> out;
  out.reserve(keys.size());
  tr->arm(keys.size());
  for (auto& k : keys) {
    out.push_back(troupe::spawn(sys, counter, k, policy, data, tr));
    caf::anon_send(out.back(), ping_atom::value);
  }
  tr->wait("recovery");
  return out;
}

inline void stop_all(std::vector<caf::actor>& xs) {
  for (auto& x : xs)
    caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  xs.clear();
}

struct latency_run {
  double rate = 0, p50_us = 0, p99_us = 0;
};

/// One counter; a driver requests `(add, 1)` `n` times, each after the
/// previous answer.
inline latency_run single_troupe(caf::actor_system& sys, uint64_t n,
                                 std::shared_ptr<const std::string> data) {
  auto tr = std::make_shared<tracker>();
  auto cs = spawn_counters(sys, {"single"}, data, tr);
  auto c = cs.front();
  auto lat = std::make_shared<std::vector<double>>();
  lat->reserve(n);
  tr->arm(1);
  auto t0 = clock::now();
  sys.spawn([=](caf::event_based_actor* d) {
    auto next = std::make_shared<std::function<void(uint64_t)>>();
    *next = [=](uint64_t i) {
      auto t1 = clock::now();
      d->request(c, caf::infinite, add_atom::value, int64_t{1})
        .then([=](int64_t) {
          lat->push_back(seconds_since(t1) * 1e6);
          if (i + 1 < n) {
            (*next)(i + 1);
          } else {
            tr->hit();
            *next = nullptr;
          }
        });
    };
    (*next)(0);
  });
  tr->wait("single actor");
  latency_run out{static_cast<double>(n) / seconds_since(t0),
                  percentile(*lat, 0.5), percentile(*lat, 0.99)};
  stop_all(cs);
  return out;
}

struct many_run {
  double rate = 0, mean_batch = 0;
  uint64_t max_batch = 0;
};

/// `actors` counters, each persisting `per_actor` events one after the other.
inline many_run many_troupe(caf::actor_system& sys, tp::journal_service& svc,
                            uint64_t actors, uint64_t per_actor,
                            std::shared_ptr<const std::string> data) {
  auto tr = std::make_shared<tracker>();
  std::vector<std::string> keys;
  for (uint64_t i = 0; i < actors; ++i)
    keys.push_back("w" + std::to_string(i));
  auto cs = spawn_counters(sys, keys, data, tr);
  auto& fig = svc.figures();
  auto b0 = fig.batches.load(), j0 = fig.batch_jobs.load();
  tr->arm(actors);
  auto t0 = clock::now();
  for (auto& c : cs)
    caf::anon_send(c, run_atom::value, per_actor);
  tr->wait("many actors");
  many_run out;
  out.rate = static_cast<double>(actors * per_actor) / seconds_since(t0);
  auto b = fig.batches.load() - b0, j = fig.batch_jobs.load() - j0;
  out.mean_batch = b > 0 ? static_cast<double>(j) / static_cast<double>(b) : 0;
  out.max_batch = fig.batch_jobs_max.load();
  stop_all(cs);
  return out;
}

/// Writes `events` events (and a snapshot at `snapshot_at`, 0: none) for
/// each key, through the journal interface, without fsyncs.
inline void prefill(const std::string& path, const std::vector<std::string>& keys,
                    uint64_t events, uint64_t snapshot_at,
                    const std::string& data) {
  auto j = tp::open_sqlite_journal(path + "?synchronous=normal");
  if (!j)
    die("prefill: " + troupe::describe(j.error()));
  auto& jr = **j;
  auto check = [](const caf::error& err) {
    if (err)
      die("prefill: " + troupe::describe(err));
  };
  check(jr.begin());
  auto ev = make_event(data);
  for (auto& k : keys) {
    auto pid = pid_of(k);
    auto epoch = jr.take_epoch(pid);
    if (!epoch)
      check(epoch.error());
    std::vector<tp::record> chunk;
    for (uint64_t seq = 1; seq <= events; ++seq) {
      chunk.push_back(tp::detail::encode_record(seq, ev));
      if (chunk.size() == 1000 || seq == events) {
        check(jr.append(pid, *epoch, chunk));
        chunk.clear();
      }
      if (seq == snapshot_at) {
        bench::CounterState s;
        s.set_total(static_cast<int64_t>(seq));
        s.set_events(seq);
        check(jr.save_snapshot(pid, *epoch, tp::detail::encode_record(seq, s),
                               2));
      }
    }
  }
  check(jr.commit());
}

} // namespace bench::persist
