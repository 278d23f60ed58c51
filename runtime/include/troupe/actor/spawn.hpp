// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/detail/type_traits.hpp>

#include "troupe/actor/stateful_actor.hpp"

namespace troupe {

namespace detail {

template <class F>
using first_arg_t = typename caf::detail::tl_head<
  typename caf::detail::get_callable_trait<F>::arg_types>::type;

template <class F>
using actor_impl_t = std::remove_pointer_t<first_arg_t<F>>;

} // namespace detail

/// Spawns a troupe actor from `fn(self, args...)`, which returns the
/// initial behavior. `fn` takes `troupe::stateful_actor<State>*` first.
///
/// The arguments are kept (copied) with `fn`, so that the actor can be
/// rebuilt in place after a failure; they must be copyable. This is the
/// same contract as Akka's `Props` or an OTP child spec's start function.
///
/// `bound` limits its mailbox (see `mailbox_bound`); the overload without
/// it leaves the mailbox unbounded unless a supervisor's child spec says
/// otherwise.
template <class F, class... Ts>
caf::actor spawn(caf::actor_system& sys, std::optional<mailbox_bound> bound,
                 F fn, Ts&&... args) {
  using impl = detail::actor_impl_t<F>;
  static_assert(std::is_base_of_v<actor_base, impl>,
                "the first argument of fn must be troupe::stateful_actor<S>*");
  typename impl::init_fn init =
    [fn, xs = std::make_tuple(std::decay_t<Ts>(std::forward<Ts>(args))...)](
      impl* self) mutable -> caf::behavior {
    return std::apply([&](auto&... ys) { return fn(self, ys...); }, xs);
  };
  return sys.spawn<impl>(std::move(init), bound);
}

template <class F, class... Ts>
caf::actor spawn(caf::actor_system& sys, mailbox_bound bound, F fn,
                 Ts&&... args) {
  return troupe::spawn(sys, std::optional<mailbox_bound>{bound}, std::move(fn),
                       std::forward<Ts>(args)...);
}

template <class F, class... Ts>
caf::actor spawn(caf::actor_system& sys, F fn, Ts&&... args) {
  return troupe::spawn(sys, std::optional<mailbox_bound>{}, std::move(fn),
                       std::forward<Ts>(args)...);
}

/// Spawns a troupe actor behind a typed handle, as CAF's `typed_actor`:
/// `fn(self, args...)` returns `Handle::behavior_type`, so the handlers
/// must match the handle's signatures, and every send or request through
/// the handle is checked at compile time. The actor itself is a troupe
/// actor like any other (guarded handlers, restart in place, supervision):
/// a supervisor's child spec returns `caf::actor_cast<caf::actor>` of it.
template <class Handle, class F, class... Ts>
Handle spawn_typed(caf::actor_system& sys, F fn, Ts&&... args) {
  using impl = detail::actor_impl_t<F>;
  static_assert(std::is_base_of_v<actor_base, impl>,
                "the first argument of fn must be troupe::stateful_actor<S>*");
  using typed = typename Handle::behavior_type;
  typename impl::init_fn init =
    [fn, xs = std::make_tuple(std::decay_t<Ts>(std::forward<Ts>(args))...)](
      impl* self) mutable -> caf::behavior {
    return std::apply(
      [&](auto&... ys) {
        typed bhvr = fn(self, ys...);
        return caf::behavior{std::move(bhvr.unbox())};
      },
      xs);
  };
  return caf::actor_cast<Handle>(
    sys.spawn<impl>(std::move(init), std::optional<mailbox_bound>{}));
}

} // namespace troupe
