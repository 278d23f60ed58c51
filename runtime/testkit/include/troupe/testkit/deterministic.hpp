// SPDX-License-Identifier: Apache-2.0
// Deterministic tests of actors: a troupe actor system on CAF's
// test_coordinator, stepped by the test, with virtual time.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>
#include <caf/timespan.hpp>

#include "troupe/wire/type_registry.hpp"

namespace troupe::testkit {

/// An actor system with troupe's configuration (its Protobuf types, its
/// dead-letter counts, its error category) on CAF's `test_coordinator`:
/// nothing runs until the test says so, and time stands still until the
/// test moves it. Troupe actors (`troupe::spawn`, supervisors, persistent
/// actors with a manual journal service) run on it unchanged.
///
/// ```
/// troupe::testkit::deterministic d;
/// auto a = troupe::spawn(d.system(), my_actor);
/// auto x = d.ask<int>(a, 41);        // runs until idle, takes the reply
/// d.advance_time(std::chrono::seconds{5}); // fires what fell due, runs
/// ```
///
/// Timeouts (`delayed_send`, receive timeouts, request timeouts) wait on a
/// virtual clock: `trigger_timeout`, `trigger_timeouts` and `advance_time`
/// fire them, then run until idle. No network: for several nodes, see
/// `testkit::cluster`.
///
/// Thread safety: one test thread drives it; actors run in that thread.
class deterministic {
public:
  /// Adds Protobuf message types before the system starts, as
  /// `node::add_message_type` does.
  using types_fn = std::function<void(wire::type_registry&)>;

  explicit deterministic(types_fn add_types = {});

  /// Runs what is queued and fires what waits on the virtual clock (at
  /// most 100 rounds), then ends the system without waiting for actors
  /// still alive: nothing would run them.
  ~deterministic();

  deterministic(const deterministic&) = delete;
  deterministic& operator=(const deterministic&) = delete;

  caf::actor_system& system() noexcept;

  /// CAF's coordinator, for finer steps (`run_once_lifo`, `prioritize`,
  /// `peek`, ...).
  caf::scheduler::test_coordinator& scheduler() noexcept;

  /// A blocking actor of the system, to send from and receive replies in
  /// (`self()->receive(..., caf::after(0s) >> ...)` after `run()`).
  caf::scoped_actor& self();

  /// Runs jobs until no actor has work left; returns how many ran.
  size_t run();

  /// Runs one job; false when none was waiting.
  bool run_once();

  /// Whether an actor has work waiting.
  [[nodiscard]] bool has_work() const;

  /// Whether a timeout is waiting on the virtual clock.
  [[nodiscard]] bool has_pending_timeout() const;

  /// Fires the next timeout on the virtual clock (moving the clock to it),
  /// then runs until idle; false when none was pending.
  bool trigger_timeout();

  /// Fires every pending timeout, then runs until idle; returns how many
  /// fired.
  size_t trigger_timeouts();

  /// Moves the virtual clock by `d`, fires what fell due, then runs until
  /// idle; returns how many timeouts fired.
  size_t advance_time(caf::timespan d);

  /// The virtual clock's time.
  caf::actor_clock::time_point now() const;

  /// Sends `xs...` to `dest` as a request (from a helper actor, without a
  /// timeout), runs until idle and returns the reply, or the error it got.
  /// When no reply came while the system ran (the actor waits for a
  /// timeout, say) the result is `caf::sec::request_timeout`; the request
  /// stays pending, and its reply is dropped when it comes.
  template <class Reply, class Handle, class... Ts>
  caf::expected<Reply> ask(const Handle& dest, Ts&&... xs) {
    auto out = std::make_shared<std::optional<caf::expected<Reply>>>();
    system().spawn(
      [dest, out,
       args = std::make_tuple(std::decay_t<Ts>(std::forward<Ts>(xs))...)](
        caf::event_based_actor* asker) {
        std::apply(
          [&](const auto&... ys) {
            asker->request(dest, caf::infinite, ys...)
              .then([out](Reply& x) { *out = std::move(x); },
                    [out](caf::error& err) { *out = std::move(err); });
          },
          args);
      });
    run();
    if (!*out)
      return caf::make_error(caf::sec::request_timeout,
                             "no reply while the system ran until idle");
    return std::move(**out);
  }

  /// @private
  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::testkit
