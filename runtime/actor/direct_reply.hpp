#pragma once
// SPDX-License-Identifier: Apache-2.0
// Two shortcuts on the path from a message to its handler and back, taken by
// the guarded behavior (actor_base.cpp) for every message. Each does what
// CAF 0.17.6 does, with fewer steps; where a case is not the plain one, CAF's
// own code runs.

#include <caf/detail/invoke_result_visitor.hpp>
#include <caf/fwd.hpp>
#include <caf/type_erased_tuple.hpp>

namespace troupe::detail {

/// The tuple a message's handlers are matched against.
///
/// A message that was built as a `caf::message` (every reply a handler
/// returns, anything forwarded or made at run time) sits in its mailbox
/// element as a `message`, which forwards each element access (size, type,
/// value) to its data through a second virtual call. Matching a handler
/// makes half a dozen such calls. This returns the data itself: the same
/// values and the same sharing (`shared()` is the data's own reference
/// count, so a handler that takes a mutable reference still copies a shared
/// message first). Anything else is returned as it is.
caf::type_erased_tuple& match_target(caf::type_erased_tuple& xs) noexcept;

/// Sends what a handler returned back to the sender as CAF's default result
/// visitor would, without building a response promise around it.
///
/// CAF turns each returned value into a `response_promise` (moving the
/// sender and forwarding stack out of the mailbox element), delivers
/// through it, and destroys it. In the plain case (no forwarding stages, a
/// sender, the message not a response) that is one send of the value with
/// the message's response ID, which is what this does. Every other case, and
/// errors and empty results, go to CAF's visitor (`next`).
class direct_reply final : public caf::detail::invoke_result_visitor {
public:
  direct_reply(caf::detail::invoke_result_visitor& next,
               caf::scheduled_actor* self) noexcept
    : next_(next), self_(self) {
    // nop
  }

  /// Whether `f` is CAF's default visitor, the one whose work this does.
  /// Other visitors (say one that keeps the result for a caller) are not
  /// replaced.
  static bool replaces(const caf::detail::invoke_result_visitor& f) noexcept;

  using caf::detail::invoke_result_visitor::operator();

  void operator()() override;

  void operator()(caf::error& x) override;

  void operator()(caf::message& x) override;

  void operator()(const caf::none_t& x) override;

private:
  caf::detail::invoke_result_visitor& next_;
  caf::scheduled_actor* self_;
};

} // namespace troupe::detail
