// SPDX-License-Identifier: Apache-2.0
// Blocking requests from a plain thread through one reusable reply slot,
// with no actor clock and no blocking actor in the way.
#pragma once

#include <chrono>
#include <utility>
#include <variant>

#include <caf/actor_cast.hpp>
#include <caf/actor_control_block.hpp>
#include <caf/actor_system.hpp>
#include <caf/check_typed_input.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <caf/response_type.hpp>
#include <caf/sec.hpp>

namespace troupe {

namespace detail {

template <class... Rs>
struct reply_of {
  using type = std::variant<Rs...>;
};

template <class R>
struct reply_of<R> {
  using type = R;
};

/// Moves the reply out of `msg` as the first of `R, Rs...` it holds.
template <class Result, class R, class... Rs>
caf::expected<Result> take_reply(caf::message& msg) {
  if (msg.match_elements<R>())
    return Result{std::move(msg.get_mutable_as<R>(0))};
  if constexpr (sizeof...(Rs) > 0)
    return take_reply<Result, Rs...>(msg);
  else
    return caf::make_error(caf::sec::unexpected_response, std::move(msg));
}

} // namespace detail

/// Asks actors from one plain thread (a client thread, `main`, a test):
/// each request waits, at most its timeout, for its answer in the calling
/// thread. It is what `caf::scoped_actor` offers for blocking requests,
/// without what that costs per request in CAF 0.17:
///
/// - no timeout in CAF's actor clock: a scoped actor's request hands a
///   timeout to the clock's thread (waking it), and that timeout is never
///   cancelled: once it is due (10 s later, say) it lands in the scoped
///   actor's mailbox as an answer nobody waits for, where each later
///   `receive` skips it again. A client thread making thousands of
///   requests a second then scans thousands of stale timeouts per request
///   and slows to a crawl (tools/bench: the bank's 8 clients fall from
///   18k to 0.3k transfers/s once their run passes 10 s). Here the waiting
///   thread keeps its own deadline;
/// - no mailbox: the answer goes straight to the waiting thread, and an
///   answer that comes after its request timed out (or anything else sent
///   to the requester) is dropped at once.
///
/// A local actor the request wakes runs at once in the calling thread, as
/// a scheduler worker would run it (for up to 64 messages; what it wakes in
/// turn goes to the scheduler): its answer is then usually there when the
/// request returns, and no thread sleeps or is woken for it. A busy actor
/// (running elsewhere) just queues the request. The runtime's own threads
/// (scheduler workers, CAF's multiplexer) never run actors this way, and
/// under CAF's test coordinator nothing does. Do not ask while holding a
/// lock that the asked actor takes: it may run in this very thread.
///
/// Answers from other nodes come back as for any actor (over a direct link
/// or BASP). One request at a time: `ask` and `request` must not be called
/// from two threads at once; the answer may come from any thread. Keep one
/// per client thread and reuse it, and let it go before its actor system
/// (as any handle of it). A node's shutdown does not wait for it (it is
/// hidden, like a troupe handle).
class requester {
public:
  explicit requester(caf::actor_system& sys);

  /// Ends the reply slot: answers still under way are dropped.
  ~requester();

  requester(const requester&) = delete;
  requester& operator=(const requester&) = delete;

  /// Sends `msg` to `dest` as a request and waits up to `timeout` for its
  /// answer: the answer's content, or the error it carried,
  /// `sec::request_timeout`, or `sec::invalid_argument` without a `dest`.
  caf::expected<caf::message> request(const caf::strong_actor_ptr& dest,
                                      std::chrono::nanoseconds timeout,
                                      caf::message msg);

  /// Sends `xs...` to `dest` and waits, at most `timeout`, for a reply of
  /// one of the types `Rs` (several give a `std::variant`). Any other
  /// reply is `sec::unexpected_response`. A typed handle checks `xs...`
  /// against its signatures at compile time, as CAF's `request` does.
  template <class... Rs, class Handle, class... Ts>
  caf::expected<typename detail::reply_of<Rs...>::type>
  ask(const Handle& dest, std::chrono::nanoseconds timeout, Ts&&... xs) {
    static_assert(sizeof...(Rs) > 0, "name the reply type(s): ask<Reply>(...)");
    using token =
        caf::detail::type_list<typename caf::detail::implicit_conversions<
            typename std::decay<Ts>::type>::type...>;
    static_assert(
        caf::response_type_unbox<caf::signatures_of_t<Handle>, token>::valid,
        "receiver does not accept given message");
    using result = typename detail::reply_of<Rs...>::type;
    auto msg = request(caf::actor_cast<caf::strong_actor_ptr>(dest), timeout,
                       caf::make_message(std::forward<Ts>(xs)...));
    if (!msg)
      return std::move(msg.error());
    return detail::take_reply<result, Rs...>(*msg);
  }

  /// The address answers go to (the sender of this requester's requests).
  const caf::strong_actor_ptr& address() const noexcept {
    return slot_;
  }

  /// Answers that came for no request in flight (late, after a timeout)
  /// and were dropped.
  uint64_t dropped() const noexcept;

private:
  caf::strong_actor_ptr slot_;
  /// Runs the local actor a request wakes in the calling thread (null under
  /// CAF's test coordinator, whose tests decide when actors run).
  caf::execution_unit* unit_ = nullptr;
};

} // namespace troupe
