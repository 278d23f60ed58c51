// SPDX-License-Identifier: Apache-2.0
// troupe::supervisor_handle: OTP's supervisor API as typed member functions.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>

#include "troupe/supervision/child_spec.hpp"
#include "troupe/supervision/supervisor.hpp"

namespace troupe {

/// A supervisor's OTP API (`supervisor:start_child/2` and friends) as member
/// functions, for code outside and inside actors.
///
/// Each call comes in two forms:
/// - **blocking**, for code outside actors (`main`, tests, threads): waits
///   up to the handle's timeout and returns a `caf::expected` (or a
///   `caf::error`, empty on success). Never call these from a handler: they
///   would block a scheduler thread.
/// - **asynchronous**, for code inside an actor: takes the calling actor
///   `self` and a continuation that receives the `caf::expected` (or
///   `caf::error`) in `self`'s context, like `request(...).then(...)`.
///
/// Errors: `errc::name_not_found` for an unknown child id,
/// `errc::child_running` to restart or delete a running child,
/// `errc::bad_config` for a taken id or a bad spec, `errc::not_running`
/// while the supervisor stops, CAF's `request_timeout` or
/// `request_receiver_down` when it does not answer.
///
/// Thread safety: a handle is a value; copies may be used from any thread.
class supervisor_handle {
public:
  supervisor_handle() = default;

  explicit supervisor_handle(caf::actor sup,
                             caf::timespan timeout = std::chrono::seconds{5})
    : sup_(std::move(sup)), timeout_(timeout) {
  }

  /// The supervisor actor.
  const caf::actor& actor() const noexcept {
    return sup_;
  }

  explicit operator bool() const noexcept {
    return static_cast<bool>(sup_);
  }

  // -- blocking: outside actors -----------------------------------------------

  /// Adds `spec` as the last child and starts it.
  caf::expected<child_status> start_child(child_spec spec) const;

  /// Starts again a child that is not running; returns its new handle.
  caf::expected<caf::actor> restart_child(const std::string& id) const;

  /// Stops a child within its shutdown time, keeping its spec (temporary
  /// children are forgotten). Returns once it is down.
  caf::error terminate_child(const std::string& id) const;

  /// Forgets the spec of a child that is not running.
  caf::error delete_child(const std::string& id) const;

  /// Every child, in start order.
  caf::expected<std::vector<child_status>> which_children() const;

  caf::expected<child_counts> count_children() const;

  caf::expected<child_spec> get_childspec(const std::string& id) const;

  /// Checks specs without starting anything (OTP's `check_childspecs`):
  /// empty when `spawn_supervisor` would take them.
  static caf::error check_childspecs(const std::vector<child_spec>& specs,
                                     auto_shutdown mode = auto_shutdown::never);

  // -- asynchronous: inside actors --------------------------------------------

  template <class F>
  void start_child(caf::event_based_actor* self, child_spec spec, F f) const {
    ask<child_status>(self, std::move(f), start_child_atom::value,
                      std::move(spec));
  }

  template <class F>
  void restart_child(caf::event_based_actor* self, const std::string& id,
                     F f) const {
    ask<caf::actor>(self, std::move(f), restart_child_atom::value, id);
  }

  template <class F>
  void terminate_child(caf::event_based_actor* self, const std::string& id,
                       F f) const {
    ask_void(self, std::move(f), terminate_child_atom::value, id);
  }

  template <class F>
  void delete_child(caf::event_based_actor* self, const std::string& id,
                    F f) const {
    ask_void(self, std::move(f), delete_child_atom::value, id);
  }

  template <class F>
  void which_children(caf::event_based_actor* self, F f) const {
    ask<std::vector<child_status>>(self, std::move(f), children_atom::value);
  }

  template <class F>
  void count_children(caf::event_based_actor* self, F f) const {
    ask<child_counts>(self, std::move(f), count_children_atom::value);
  }

  template <class F>
  void get_childspec(caf::event_based_actor* self, const std::string& id,
                     F f) const {
    ask<child_spec>(self, std::move(f), get_childspec_atom::value, id);
  }

private:
  template <class T, class F, class... Ts>
  void ask(caf::event_based_actor* self, F f, Ts&&... xs) const {
    self->request(sup_, timeout_, std::forward<Ts>(xs)...)
      .then([f](T& x) mutable { f(caf::expected<T>{std::move(x)}); },
            [f](caf::error& err) mutable {
              f(caf::expected<T>{std::move(err)});
            });
  }

  template <class F, class... Ts>
  void ask_void(caf::event_based_actor* self, F f, Ts&&... xs) const {
    self->request(sup_, timeout_, std::forward<Ts>(xs)...)
      .then([f]() mutable { f(caf::error{}); },
            [f](caf::error& err) mutable { f(std::move(err)); });
  }

  caf::actor sup_;
  caf::timespan timeout_ = std::chrono::seconds{5};
};

} // namespace troupe
