// SPDX-License-Identifier: Apache-2.0
// Shared helpers of bench_supervisor.cpp and its restart benchmark: a child
// whose handler throws on request, restarted by a troupe supervisor in place
// or respawned by a plain CAF supervisor, and one driver for both.
#pragma once

#include <cstdint>
#include <functional>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <troupe/actor/spawn.hpp>
#include <troupe/supervision/supervisor.hpp>

#include "common.hpp"

namespace bench::sup {

using crash_atom = caf::atom_constant<caf::atom("crash")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using go_atom = caf::atom_constant<caf::atom("go")>;
using child_atom = caf::atom_constant<caf::atom("child")>;
using count_atom = caf::atom_constant<caf::atom("count")>;

[[noreturn]] inline void die(const std::string& what) {
  std::fprintf(stderr, "bench_supervisor: %s\n", what.c_str());
  std::_Exit(1);
}

/// One-for-one with an intensity that never triggers.
inline troupe::supervisor_flags never_give_up() {
  troupe::supervisor_flags flags;
  flags.max_restarts = SIZE_MAX;
  return flags;
}

inline troupe::child_spec
spec(std::string id, std::function<caf::actor(caf::actor_system&)> start,
     troupe::child_kind kind = troupe::child_kind::worker) {
  troupe::child_spec c;
  c.id = std::move(id);
  c.start = std::move(start);
  c.kind = kind;
  return c;
}

/// Asks supervisor `sup` (blocking, untimed) for its first child.
inline troupe::child_status first_child(caf::actor_system& sys,
                                        const caf::actor& sup) {
  caf::scoped_actor self{sys};
  troupe::child_status result;
  self->request(sup, caf::infinite, troupe::children_atom::value)
    .receive([&](std::vector<troupe::child_status>& xs) { result = xs.at(0); },
             [&](caf::error& e) { die("children: " + caf::to_string(e)); });
  return result;
}

/// Sends `hdl` an exit request and returns the seconds until it is down.
inline double stop_and_wait(caf::actor_system& sys, const caf::actor& hdl) {
  caf::scoped_actor self{sys};
  self->monitor(hdl);
  auto t0 = clock::now();
  caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
  self->receive([](caf::down_msg&) {});
  return seconds_since(t0);
}

// -- the child ----------------------------------------------------------------

struct worker_state {
  static inline const char* name = "bench.worker";
  uint64_t handled = 0;
};

template <class Self>
caf::behavior worker_impl(Self* self) {
  return {
    [](crash_atom) -> uint64_t { throw std::runtime_error("crash requested"); },
    [self](ping_atom, uint64_t i) {
      ++self->state.handled;
      return i;
    },
  };
}

inline caf::behavior troupe_worker(troupe::stateful_actor<worker_state>* self) {
  return worker_impl(self);
}

/// CAF's default exception handler also prints every exception to stderr;
/// this one only turns it into the exit reason (with the text, as troupe's
/// error carries it).
inline caf::behavior caf_worker(caf::stateful_actor<worker_state>* self) {
  self->set_exception_handler([](std::exception_ptr& ep) -> caf::error {
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      return caf::make_error(caf::sec::runtime_error, e.what());
    }
  });
  return worker_impl(self);
}

// -- the raw CAF supervisor ---------------------------------------------------

struct caf_sup_state {
  caf::actor child;
  caf::actor client; // gets every new child's handle
  uint64_t respawns = 0;
};

/// Monitors its child and respawns it on a down message; `child_atom`
/// subscribes the sender and answers the current child.
inline caf::behavior caf_supervisor(caf::stateful_actor<caf_sup_state>* self) {
  self->state.child = self->spawn<caf::monitored>(caf_worker);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source != st.child.address())
      return;
    st.child = self->spawn<caf::monitored>(caf_worker);
    ++st.respawns;
    if (st.client)
      self->send(st.client, child_atom::value, st.child);
  });
  self->set_exit_handler([self](caf::exit_msg& x) {
    self->send_exit(self->state.child, x.reason);
    self->quit(x.reason);
  });
  return {
    [self](child_atom) {
      self->state.client = caf::actor_cast<caf::actor>(self->current_sender());
      return self->state.child;
    },
    [self](count_atom) { return self->state.respawns; },
  };
}

// -- the driver (the same for both sides) -------------------------------------

struct restart_result {
  std::vector<double> lat_us;
  double seconds = 0;
  std::promise<void> done;
};

struct driver_state {
  caf::actor sup, child;
  bool respawns = false; // raw CAF: each crash brings a new handle
  uint64_t n = 0, i = 0;
  bool failed = false, fresh = false;
  clock::time_point start, t0;
  std::shared_ptr<restart_result> out;
};

using driver = caf::stateful_actor<driver_state>;

inline void cycle(driver* self);

/// Sends the normal request once the error is in and the child is usable.
inline void proceed(driver* self) {
  auto& st = self->state;
  if (!st.failed || !st.fresh)
    return;
  st.failed = false;
  self->request(st.child, caf::infinite, ping_atom::value, st.i)
    .then(
      [self](uint64_t) {
        auto& st = self->state;
        st.out->lat_us.push_back(
          std::chrono::duration<double, std::micro>(clock::now() - st.t0)
            .count());
        if (++st.i < st.n)
          return cycle(self);
        st.out->seconds = seconds_since(st.start);
        st.out->done.set_value();
        self->quit();
      },
      [](caf::error& e) { die("request after restart: " + caf::to_string(e)); });
}

/// Sends the request that makes the child throw.
inline void cycle(driver* self) {
  auto& st = self->state;
  st.fresh = !st.respawns;
  st.t0 = clock::now();
  self->request(st.child, caf::infinite, crash_atom::value)
    .then([](uint64_t) { die("the crash request was answered"); },
          [self](caf::error&) {
            self->state.failed = true;
            proceed(self);
          });
}

inline caf::behavior restart_driver(driver* self, caf::actor sup,
                                    bool respawns, uint64_t n,
                                    std::shared_ptr<restart_result> out) {
  auto& st = self->state;
  st.sup = std::move(sup);
  st.respawns = respawns;
  st.n = n;
  st.out = std::move(out);
  auto begin = [self](caf::actor child) {
    self->state.child = std::move(child);
    self->state.start = clock::now();
    cycle(self);
  };
  auto fail = [](caf::error& e) { die("setup: " + caf::to_string(e)); };
  return {
    [=](go_atom) { // untimed: find the child
      if (self->state.respawns)
        self->request(self->state.sup, caf::infinite, child_atom::value)
          .then(begin, fail);
      else
        self->request(self->state.sup, caf::infinite,
                      troupe::children_atom::value)
          .then([=](std::vector<troupe::child_status>& xs) {
            begin(xs.at(0).handle);
          }, fail);
    },
    [=](child_atom, caf::actor& child) { // raw CAF: the new incarnation
      self->state.child = std::move(child);
      self->state.fresh = true;
      proceed(self);
    },
  };
}

struct restart_sample {
  double rate = 0, p50 = 0, p99 = 0;
};

/// Runs a driver against supervisor `sup` and returns its sample.
inline restart_sample drive(caf::actor_system& sys, const caf::actor& sup,
                            bool respawns, uint64_t n) {
  auto out = std::make_shared<restart_result>();
  out->lat_us.reserve(n);
  auto done = out->done.get_future();
  caf::anon_send(sys.spawn(restart_driver, sup, respawns, n, out),
                 go_atom::value);
  done.wait();
  auto& v = out->lat_us;
  std::sort(v.begin(), v.end());
  if (std::getenv("TROUPE_BENCH_VERBOSE") != nullptr) {
    double sum = 0;
    for (auto x : v)
      sum += x;
    std::fprintf(stderr, "  %s restart: mean %.2f us, p99.9 %.1f, max %.0f\n",
                 respawns ? "caf" : "troupe", sum / n, v[n * 999 / 1000],
                 v.back());
  }
  return {n / out->seconds, v[n / 2], v[n * 99 / 100]};
}

inline restart_sample troupe_restart(caf::actor_system& sys, uint64_t n) {
  auto sup = troupe::spawn_supervisor(
    sys, never_give_up(), {spec("worker", [](caf::actor_system& s) {
      return troupe::spawn(s, troupe_worker);
    })});
  auto before = first_child(sys, sup).handle;
  auto result = drive(sys, sup, false, n);
  auto after = first_child(sys, sup);
  if (after.restarts != n || after.handle != before)
    die("troupe: expected " + std::to_string(n) + " restarts in place, got "
        + std::to_string(after.restarts));
  stop_and_wait(sys, sup);
  return result;
}

inline restart_sample caf_restart(caf::actor_system& sys, uint64_t n) {
  auto sup = sys.spawn(caf_supervisor);
  auto result = drive(sys, sup, true, n);
  caf::scoped_actor self{sys};
  self->request(sup, caf::infinite, count_atom::value)
    .receive(
      [&](uint64_t k) {
        if (k != n)
          die("caf: expected " + std::to_string(n) + " respawns, got "
              + std::to_string(k));
      },
      [](caf::error& e) { die("count: " + caf::to_string(e)); });
  stop_and_wait(sys, sup);
  return result;
}

} // namespace bench::sup
