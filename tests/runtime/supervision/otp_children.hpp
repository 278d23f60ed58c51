// SPDX-License-Identifier: Apache-2.0
// The children, flags and assertions of the OTP supervisor_SUITE port
// (otp_fixture.hpp): OTP's workers as troupe and plain CAF actors, their
// child specs, the exit reasons, and expected-error assertions.
#pragma once

#include "troupe/supervision/supervisor_handle.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <caf/after.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <gtest/gtest.h>

#include "runtime/deterministic.hpp"
#include "runtime/supervision/worker.hpp"
#include "troupe/actor/spawn.hpp"
#include "troupe/error.hpp"
#include "troupe/supervision/supervisor.hpp"

namespace troupe::test::otp {

using namespace std::chrono_literals;

using troupe::child_kind;
using troupe::errc;
using troupe::restart_type;
using troupe::strategy;

using troupe::test::journal;
using counts_t =
    std::array<size_t, 4>; // OTP's [specs, active, supervisors, workers]

using get_atom = caf::atom_constant<caf::atom("get")>;
/// The child ends by itself without an error (OTP's `normal`).
using stop_atom = caf::atom_constant<caf::atom("stop")>;
/// The child ends by itself with an error (OTP's abnormal `died`).
using die_atom = caf::atom_constant<caf::atom("die")>;
/// The child ends by itself with `user_shutdown` (OTP's `{shutdown, _}`).
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
/// A handler of the child throws (troupe's restart in place).
using crash_atom = caf::atom_constant<caf::atom("crash")>;
using later_atom = caf::atom_constant<caf::atom("later")>;

inline caf::error died() {
  return caf::make_error(caf::sec::runtime_error, std::string{"died"});
}

inline const caf::error shutdown_reason{caf::exit_reason::user_shutdown};
inline const caf::error kill_reason{caf::exit_reason::kill};

// -- children -----------------------------------------------------------------

// OTP's supervisor_1 as a troupe actor: sums ints, ends on request, and
// writes "start <id>" and "stop <id>" into a journal that outlives it.
struct worker_state : troupe::test::journaled_state {
  static inline const char* name = "otp.worker";
};

inline caf::behavior worker(troupe::stateful_actor<worker_state>* self,
                            std::string id, journal log) {
  self->state.id = std::move(id);
  self->state.log = std::move(log);
  return {
      [self](int x) { return self->state.sum += x; },
      [self](get_atom) { return self->state.sum; },
      [self](stop_atom) { self->quit(); },
      [self](die_atom) { self->quit(died()); },
      [self](shutdown_atom) { self->quit(shutdown_reason); },
      [](crash_atom) { throw std::runtime_error("crash"); },
  };
}

inline troupe::child_spec spec(const std::string& id, journal log,
                               restart_type restart = restart_type::permanent,
                               bool significant = false) {
  troupe::child_spec s;
  s.id = id;
  s.restart = restart;
  s.significant = significant;
  s.start = [id, log](caf::actor_system& sys) {
    return troupe::spawn(sys, worker, id, log);
  };
  return s;
}

inline troupe::child_spec
custom(const std::string& id,
       std::function<caf::actor(caf::actor_system&)> start,
       restart_type restart = restart_type::permanent) {
  troupe::child_spec s;
  s.id = id;
  s.restart = restart;
  s.start = std::move(start);
  return s;
}

// A plain CAF child: it cannot restart in place, so every restart of it,
// the strategy's included, calls `start` again.
inline caf::behavior plain(caf::event_based_actor* self) {
  return {
      [](int x) { return x; },
      [self](stop_atom) { self->quit(); },
      [self](die_atom) { self->quit(died()); },
  };
}

// Every call of a plain child's `start`, and the actors it returned.
struct incarnations {
  int calls = 0;
  std::vector<caf::actor> started;
};
using tracker = std::shared_ptr<incarnations>;

inline tracker make_tracker() {
  return std::make_shared<incarnations>();
}

// Which calls of `start` (1-based) fail, returning no actor (OTP's start
// function returning `{error, _}`).
using failing = std::function<bool(int)>;

inline failing from(int n) {
  return [n](int call) { return call >= n; };
}

inline failing only(int n) {
  return [n](int call) { return call == n; };
}

inline troupe::child_spec
plain_spec(const std::string& id, tracker t, failing fails = nullptr,
           restart_type restart = restart_type::permanent,
           bool significant = false) {
  auto s = custom(
      id,
      [t, fails](caf::actor_system& sys) -> caf::actor {
        ++t->calls;
        if (fails && fails(t->calls))
          return {};
        auto hdl = sys.spawn(plain);
        t->started.push_back(hdl);
        return hdl;
      },
      restart);
  s.significant = significant;
  return s;
}

// A child that ignores being asked to stop (OTP's child told to sleep).
inline caf::behavior stubborn(caf::event_based_actor* self) {
  self->set_exit_handler([](caf::exit_msg&) {});
  return {[](int x) { return x; }};
}

// A child that takes `delay` to stop when asked (OTP's supervisor_2).
inline caf::behavior slow(caf::event_based_actor* self, caf::timespan delay) {
  self->set_exit_handler([self, delay](caf::exit_msg& x) {
    self->delayed_send(self, delay, later_atom::value, x.reason);
  });
  return {[self](later_atom, caf::error& reason) { self->quit(reason); }};
}

// A child that ends with its own `reason`, on request or when asked to stop
// (OTP's supervisor_4).
inline caf::behavior own_reason(caf::event_based_actor* self,
                                caf::error reason) {
  self->set_exit_handler(
      [self, reason](caf::exit_msg&) { self->quit(reason); });
  return {[self, reason](stop_atom) { self->quit(reason); }};
}

inline troupe::supervisor_flags flags(strategy s, size_t max_restarts,
                                      std::chrono::milliseconds period) {
  troupe::supervisor_flags f;
  f.strategy = s;
  f.max_restarts = max_restarts;
  f.period = period;
  return f;
}

inline troupe::backoff one_second() {
  return {1000ms, 1000ms, 1.0, 0.0, 30000ms};
}

inline ::testing::AssertionResult ok(const caf::error& err) {
  if (!err)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << troupe::describe(err);
}

template <class T>
::testing::AssertionResult ok(const caf::expected<T>& x) {
  return x ? ::testing::AssertionSuccess() : ok(x.error());
}

inline ::testing::AssertionResult fails_with(const caf::error& err, errc code) {
  if (err == code)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "expected " << troupe::to_string(code) << ", got "
         << (err ? troupe::describe(err) : std::string{"success"});
}

template <class T>
::testing::AssertionResult fails_with(const caf::expected<T>& x, errc code) {
  if (x)
    return ::testing::AssertionFailure()
           << "expected " << troupe::to_string(code) << ", got success";
  return fails_with(x.error(), code);
}

} // namespace troupe::test::otp
