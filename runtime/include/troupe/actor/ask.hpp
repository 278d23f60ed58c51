// SPDX-License-Identifier: Apache-2.0
// Asking an actor from anywhere: `troupe::ask<Reply...>` (Akka's `ask`,
// Erlang's `gen_server:call`) for code that is not an actor (a plain
// thread, `main`, a test), `troupe::ask_async` for a `std::future`, and the
// overload for an event-based actor that takes a continuation. Several
// reply types give a `std::variant`; a failure (an error reply, the
// timeout, a lost node) comes back as the `caf::error` of the `expected`,
// never as an exception. CAF 0.17's own blocking request takes one reply
// type only, and offers no future.
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <utility>
#include <variant>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>

#include "troupe/actor/requester.hpp"

namespace troupe {

namespace detail {

template <class... Rs>
struct ask_result : reply_of<Rs...> {};

} // namespace detail

/// What `ask<Rs...>` gives: `R` for one reply type, `std::variant<Rs...>`
/// for several.
template <class... Rs>
using ask_result_t = typename detail::ask_result<Rs...>::type;

/// Sends `xs...` to `dest` as a request (the arguments of CAF's
/// `request(dest, timeout, xs...)`) and waits, at most `timeout`, for a
/// reply of one of the types `Rs`. Blocks the calling thread: for code
/// that is not an actor. Inside an actor, use the overload that takes it.
/// A thread that asks often keeps a `troupe::requester` and asks through
/// it (this makes one per call).
template <class... Rs, class Handle, class... Ts>
caf::expected<ask_result_t<Rs...>>
ask(caf::actor_system& sys, const Handle& dest,
    std::chrono::milliseconds timeout, Ts&&... xs) {
  static_assert(sizeof...(Rs) > 0, "name the reply type(s): ask<Reply>(...)");
  requester self{sys};
  return self.ask<Rs...>(dest, timeout, std::forward<Ts>(xs)...);
}

/// A request sent from an event-based actor; `then(f)` calls
/// `f(caf::expected<ask_result_t<Rs...>>)` in the actor when the reply,
/// the error or the timeout arrives (other messages are handled
/// meanwhile).
template <class... Rs>
class pending_ask {
public:
  using result = ask_result_t<Rs...>;

  pending_ask(caf::event_based_actor* self, caf::message_id mid)
    : self_(self), mid_(mid) {
  }

  template <class F>
  void then(F f) {
    auto g = std::make_shared<F>(std::move(f));
    self_->add_multiplexed_response_handler(
      mid_, caf::behavior{[g](Rs& x) {
                            (*g)(caf::expected<result>{result{std::move(x)}});
                          }...,
                          [g](caf::error& err) {
                            (*g)(caf::expected<result>{std::move(err)});
                          }});
  }

private:
  caf::event_based_actor* self_;
  caf::message_id mid_;
};

/// From inside an event-based actor: `ask<Rs...>(self, dest, timeout,
/// xs...).then(f)`.
template <class... Rs, class Handle, class... Ts>
pending_ask<Rs...> ask(caf::event_based_actor* self, const Handle& dest,
                       std::chrono::milliseconds timeout, Ts&&... xs) {
  static_assert(sizeof...(Rs) > 0, "name the reply type(s)");
  auto mid = self->request(dest, timeout, std::forward<Ts>(xs)...).id();
  return {self, mid};
}

/// Like `ask`, without waiting: the future holds the reply or the error.
/// Usable from anywhere, actors included (hand the future on; waiting for
/// it inside a handler would block a scheduler thread). A hidden actor
/// makes the request and ends with its answer.
template <class... Rs, class Handle, class... Ts>
std::future<caf::expected<ask_result_t<Rs...>>>
ask_async(caf::actor_system& sys, const Handle& dest,
          std::chrono::milliseconds timeout, Ts&&... xs) {
  static_assert(sizeof...(Rs) > 0, "name the reply type(s)");
  using result = ask_result_t<Rs...>;
  auto done = std::make_shared<std::promise<caf::expected<result>>>();
  auto fut = done->get_future();
  sys.spawn<caf::hidden>(
    [done, target = caf::actor_cast<caf::actor>(dest), timeout,
     m = caf::make_message(std::forward<Ts>(xs)...)](caf::event_based_actor*
                                                       self) mutable {
      ask<Rs...>(self, target, timeout, std::move(m))
        .then([done, self](caf::expected<result> x) {
          done->set_value(std::move(x));
          self->quit();
        });
    });
  return fut;
}

} // namespace troupe
