// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include <caf/actor_config.hpp>
#include <caf/error.hpp>

#include "troupe/actor/actor_base.hpp"

namespace troupe {

template <class State>
class stateful_actor;

namespace detail {

template <class State, class = void>
struct has_on_start : std::false_type {};

template <class State>
struct has_on_start<State, std::void_t<decltype(std::declval<State&>().on_start(
                             std::declval<stateful_actor<State>*>()))>>
  : std::true_type {};

template <class State, class = void>
struct has_on_stop : std::false_type {};

template <class State>
struct has_on_stop<State, std::void_t<decltype(std::declval<State&>().on_stop(
                            std::declval<stateful_actor<State>*>(),
                            std::declval<const caf::error&>()))>>
  : std::true_type {};

template <class State, class = void>
struct has_pre_restart : std::false_type {};

template <class State>
struct has_pre_restart<
  State, std::void_t<decltype(std::declval<State&>().pre_restart(
           std::declval<stateful_actor<State>*>(),
           std::declval<const caf::error&>()))>> : std::true_type {};

template <class State, class = void>
struct has_post_restart : std::false_type {};

template <class State>
struct has_post_restart<
  State, std::void_t<decltype(std::declval<State&>().post_restart(
           std::declval<stateful_actor<State>*>(),
           std::declval<const caf::error&>()))>> : std::true_type {};

template <class State, class = void>
struct has_static_name : std::false_type {};

template <class State>
struct has_static_name<State, std::void_t<decltype(State::name)>>
  : std::true_type {};

} // namespace detail

/// A troupe actor that keeps a `State` and runs guarded handlers.
///
/// It reads like CAF's `caf::stateful_actor<State>`: handlers reach the state
/// as `self->state`, and `State::name` (a `const char*`) names the actor type.
/// Optional hooks on the state, found by name:
///
/// - `void on_start(troupe::stateful_actor<State>* self)` runs after the
///   behavior is installed, before the first message;
/// - `void on_stop(troupe::stateful_actor<State>* self, const caf::error&
///   reason)` runs when the actor terminates, before the state is destroyed;
/// - `void pre_restart(self, const caf::error& reason)` runs on the old state
///   before a restart in place (default: `on_stop`), and
///   `void post_restart(self, const caf::error& reason)` on the new state
///   after it (default: `on_start`), as Akka's preRestart/postRestart.
///
/// The state is constructed from `self` when `State` has such a constructor,
/// else default-constructed. Actors spawned with `troupe::spawn` keep their
/// init function, so `restart_in_place()` can rebuild the state and the
/// behavior without touching the actor's address or mailbox.
template <class State>
class stateful_actor : public actor_base {
public:
  using init_fn = std::function<caf::behavior(stateful_actor*)>;

  explicit stateful_actor(caf::actor_config& cfg, init_fn init = nullptr,
                          std::optional<mailbox_bound> bound = std::nullopt)
    : actor_base(cfg, bound), state(state_), init_(std::move(init)) {
    construct_state();
  }

  ~stateful_actor() override {
    destroy_state();
  }

  /// The actor's state.
  State& state;

  const char* name() const override {
    if constexpr (detail::has_static_name<State>::value)
      return State::name;
    else
      return "troupe.actor";
  }

  caf::behavior make_behavior() override {
    caf::behavior result;
    if (init_)
      result = init_(this);
    else
      result = super::make_behavior(); // spawned through plain CAF
    if (result)
      result = guard(std::move(result));
    if constexpr (detail::has_on_start<State>::value)
      state.on_start(this);
    return result;
  }

  void on_exit() override {
    if constexpr (detail::has_on_stop<State>::value)
      if (state_alive_)
        state.on_stop(this, fail_state());
    destroy_state();
  }

  /// Whether this actor can rebuild itself (it was spawned with an init
  /// function it kept).
  bool restartable() const noexcept {
    return static_cast<bool>(init_);
  }

  bool can_restart_in_place() const noexcept override {
    return restartable();
  }

  bool try_restart_in_place(const caf::error& reason) override {
    if (!restartable())
      return false;
    restart_in_place(reason);
    return true;
  }

  /// Rebuilds the state from scratch and re-runs the init function; the
  /// address and the queued messages stay. Runs the restart hooks.
  /// @pre `restartable()`
  void restart_in_place(const caf::error& reason) {
    if constexpr (detail::has_pre_restart<State>::value)
      state.pre_restart(this, reason);
    else if constexpr (detail::has_on_stop<State>::value)
      state.on_stop(this, reason);
    destroy_state();
    construct_state();
    auto bhvr = init_(this);
    super::become(guard(std::move(bhvr)));
    if constexpr (detail::has_post_restart<State>::value)
      state.post_restart(this, reason);
    else if constexpr (detail::has_on_start<State>::value)
      state.on_start(this);
  }

private:
  void construct_state() {
    if constexpr (std::is_constructible_v<State, stateful_actor*>)
      new (&state_) State(this);
    else
      new (&state_) State();
    state_alive_ = true;
  }

  void destroy_state() {
    if (state_alive_) {
      state_alive_ = false;
      state_.~State();
    }
  }

  union {
    State state_;
  };
  bool state_alive_ = false;
  init_fn init_;
};

} // namespace troupe
