// SPDX-License-Identifier: Apache-2.0
// Local ping-pong: two actors exchange COUNT round trips (default 1,000,000);
// prints round trips per second for troupe actors and plain CAF actors.
// Rows and flags: see bench::run_rows and bench::parse_options (common.hpp).
#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <troupe/actor/spawn.hpp>

#include "common.hpp"

namespace {

using start_atom = caf::atom_constant<caf::atom("start")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;

// One body for both kinds of actor, so that both do the same work.

template <class Self>
caf::behavior pong_impl(Self*) {
  return {
    [](ping_atom, uint64_t i) { return std::make_tuple(pong_atom::value, i); },
  };
}

template <class Self>
caf::behavior ping_impl(Self* self, caf::actor pong, uint64_t n,
                        bench::done_flag done) {
  return {
    [=](start_atom) { self->send(pong, ping_atom::value, uint64_t{0}); },
    [=](pong_atom, uint64_t i) {
      if (i + 1 < n) {
        self->send(pong, ping_atom::value, i + 1);
        return;
      }
      done->set_value();
      self->send_exit(pong, caf::exit_reason::user_shutdown);
      self->quit();
    },
  };
}

struct pong_state {
  static inline const char* name = "bench.pong";
};

struct ping_state {
  static inline const char* name = "bench.ping";
};

caf::behavior troupe_pong(troupe::stateful_actor<pong_state>* self) {
  return pong_impl(self);
}

caf::behavior troupe_ping(troupe::stateful_actor<ping_state>* self,
                          caf::actor pong, uint64_t n, bench::done_flag done) {
  return ping_impl(self, std::move(pong), n, std::move(done));
}

caf::behavior caf_pong(caf::event_based_actor* self) {
  return pong_impl(self);
}

caf::behavior caf_ping(caf::event_based_actor* self, caf::actor pong,
                       uint64_t n, bench::done_flag done) {
  return ping_impl(self, std::move(pong), n, std::move(done));
}

// Spawns the pair with `spawn_pong`/`spawn_ping`, then times the exchange.
template <class SpawnPong, class SpawnPing>
double run_pair(uint64_t n, SpawnPong spawn_pong, SpawnPing spawn_ping) {
  auto done = bench::make_done();
  auto finished = done->get_future();
  auto pong = spawn_pong();
  auto ping = spawn_ping(pong, n, done);
  auto t0 = bench::clock::now();
  caf::anon_send(ping, start_atom::value);
  finished.wait();
  return static_cast<double>(n) / bench::seconds_since(t0);
}

double troupe_run(caf::actor_system& sys, uint64_t n) {
  return run_pair(
    n, [&] { return troupe::spawn(sys, troupe_pong); },
    [&](caf::actor pong, uint64_t k, bench::done_flag done) {
      return troupe::spawn(sys, troupe_ping, std::move(pong), k,
                           std::move(done));
    });
}

double caf_run(caf::actor_system& sys, uint64_t n) {
  return run_pair(
    n, [&] { return sys.spawn(caf_pong); },
    [&](caf::actor pong, uint64_t k, bench::done_flag done) {
      return sys.spawn(caf_ping, std::move(pong), k, std::move(done));
    });
}

} // namespace

int main(int argc, char** argv) {
  auto opts = bench::parse_options(argc, argv, 1'000'000, 100, 7);
  auto n = opts.count;
  bench::run_rows(
    opts, "local ping-pong", "round trips/s",
    [n](caf::actor_system& sys) { return troupe_run(sys, n); },
    [n](caf::actor_system& sys) { return caf_run(sys, n); });
  // The cost of troupe's per-actor figures: the same troupe run with them
  // on and off (target: >= 0.95x). Row name "figures"; runs when no row or
  // that row is named.
  auto& rows = opts.args;
  if (!rows.empty()
      && std::find(rows.begin(), rows.end(), "figures") == rows.end())
    return 0;
  auto threads = std::to_string(bench::node_default_threads());
  auto [on, off] = bench::median_pair(
    opts.reps,
    [&] {
      troupe::set_actor_figures(true);
      return bench::with_caf_system({{"scheduler.max-threads", threads}},
                                    [n](caf::actor_system& sys) {
                                      return troupe_run(sys, n);
                                    });
    },
    [&] {
      troupe::set_actor_figures(false);
      auto r = bench::with_caf_system({{"scheduler.max-threads", threads}},
                                      [n](caf::actor_system& sys) {
                                        return troupe_run(sys, n);
                                      });
      troupe::set_actor_figures(true);
      return r;
    });
  bench::row("local ping-pong, troupe with per-actor figures vs without "
             "(max-threads=" + threads + ") [round trips/s]",
             on, off);
  return 0;
}
