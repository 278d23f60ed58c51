// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>

#include <caf/atom.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/invoke_message_result.hpp>
#include <caf/mailbox_element.hpp>

#include "troupe/actor/mailbox_bound.hpp"

namespace troupe {

namespace wire {
struct rejected_message;
} // namespace wire

/// What a failed handler invocation looked like, for whoever handles it.
struct handler_failure {
  /// `what()` of the exception, or a note that it was not a std::exception.
  std::string what;
  /// Type name(s) of the message that made the handler throw.
  std::string message_type;
  /// The exception itself.
  std::exception_ptr exception;
};

/// Figures every troupe actor keeps about itself, for introspection.
///
/// Only the actor writes them (plain stores to relaxed atomics: no locked
/// instructions on the hot path); readers take relaxed loads. Handler time
/// is kept in CPU timestamp ticks (see `ticks_to_ns`), measured on one
/// message in `actor_base::timing_stride` and extrapolated; the maximum is
/// the largest sampled one. The mailbox depth is
/// not here: CAF 0.17's mailbox cannot be sized safely from outside, so the
/// actor answers an urgent `figures_atom` request with it (see
/// `mailbox_depth_atom`). `dropped` is the exception to "only the actor
/// writes": a bounded mailbox discards in the sender's thread, so senders
/// add to it (a locked add, on the overflow path only).
struct actor_figures {
  std::atomic<uint64_t> consumed{0};
  std::atomic<uint64_t> handler_ticks_total{0};
  std::atomic<uint64_t> handler_ticks_max{0};
  /// Nanoseconds since the epoch of the steady clock when it (re)started.
  std::atomic<int64_t> started_ns{0};
  /// Messages its bounded mailbox discarded (see `mailbox_bound`).
  std::atomic<uint64_t> dropped{0};
};

/// Converts timestamp ticks of `actor_figures` to nanoseconds.
double ticks_to_ns(uint64_t ticks);

/// Switches the per-actor figures on (the default) or off, process-wide
/// (tools/bench/bench_ping_pong measures the difference).
void set_actor_figures(bool on) noexcept;

/// Urgent request to a troupe actor: answers its mailbox depth (uint64_t),
/// read from inside the actor, where it is safe.
using mailbox_depth_atom = caf::atom_constant<caf::atom("trp_depth")>;

/// Urgent one-way message to a troupe actor: fail as if a handler had thrown
/// (`troupe kill --mode throw`): the text (a std::string) is the exception
/// text, and the supervisor decides as for a real throw.
using fail_atom = caf::atom_constant<caf::atom("trp_fail")>;

/// Base class of every troupe actor: a CAF `event_based_actor` whose
/// behaviors are guarded.
///
/// Each behavior installed through `make_behavior()` or `become()` is wrapped
/// so that (1) an exception thrown by a handler is caught right there, the
/// requester of the failing message gets an `errc::handler_failed` error at
/// once, and the actor's failure handler decides what happens next, and
/// (2) a `wire::rejected_message` (a message from another node that could not
/// be decoded) is logged with its type and sending node and, for a request,
/// answered with `errc::rejected_message`.
///
/// What happens next: a custom `on_failure` handler decides if one is set;
/// else an actor started by a supervisor that can restart in place asks
/// its supervisor and waits for the answer (its mailbox keeps filling,
/// nothing is taken meanwhile): the supervisor orders a restart in place
/// (the actor keeps its address and mailbox, because the exception never
/// left the handler) or an end; else it ends with the error, as CAF does.
/// The supervisor may have given that answer ahead (a restart permit, only
/// where the restart is sure to fit its intensity): the actor then restarts
/// at once and tells it afterwards. An exit message with reason `errc::restart_requested` (sent by
/// a supervisor to the siblings of a failed child) also restarts it in place.
///
/// A troupe actor may have a bounded mailbox (`mailbox_bound`, given at
/// spawn); `enqueue` enforces it in the sender's thread. A one-way message
/// that arrives after the actor ended counts as a dead letter of its node
/// (CAF drops it silently; requests CAF answers itself).
///
/// Thread safety: like any CAF actor, only the actor itself touches these
/// members, from inside its handlers; `enqueue`, `figures()` and `bound()`
/// are safe from any thread.
class actor_base : public caf::event_based_actor {
public:
  using super = caf::event_based_actor;

  /// Decides what happens after a handler threw. Called inside the actor.
  using failure_handler = std::function<void(actor_base*, handler_failure&)>;

  /// Without `bound`, the actor takes the one its supervisor's child spec
  /// gives (see `child_spec::mailbox`), else it is unbounded.
  explicit actor_base(caf::actor_config& cfg,
                      std::optional<mailbox_bound> bound = std::nullopt);

  ~actor_base() override;

  /// Installs `bhvr` (guarded) as the current behavior. Hides CAF's
  /// `become` so that behaviors set from handlers are guarded as well.
  template <class... Ts>
  void become(Ts&&... xs) {
    super::become(guard(caf::behavior{std::forward<Ts>(xs)...}));
  }

  /// Keeps the current behavior below the new one, as CAF's `keep_behavior`.
  template <class... Ts>
  void become(const caf::keep_behavior_t& keep, Ts&&... xs) {
    super::become(keep, guard(caf::behavior{std::forward<Ts>(xs)...}));
  }

  /// Wraps `bhvr` as described in the class comment.
  caf::behavior guard(caf::behavior bhvr);

  /// Replaces the failure handler (null restores the default).
  void on_failure(failure_handler fn);

  /// Rebuilds the actor in place (state and behavior); false when it cannot
  /// (it was not spawned with a kept init function).
  virtual bool try_restart_in_place(const caf::error& reason);

  /// Whether `try_restart_in_place` would succeed.
  virtual bool can_restart_in_place() const noexcept;

  /// The supervisor this actor was started by, if any.
  const caf::actor& parent() const noexcept {
    return parent_;
  }

  /// Called by a guarded behavior from inside its catch block: `what` says
  /// what was thrown, `xs` is the failing message.
  /// @private
  void handle_failure(std::string what, const caf::type_erased_tuple& xs);

  /// As above, with the failing message's type already described.
  /// @private
  void handle_failure(std::string what, std::string message_type);

  /// Logs a message the wire layer refused and answers its requester.
  /// @private
  void handle_rejected(const wire::rejected_message& x);

  /// Logs an empty (or undecodable) message and answers its requester.
  /// @private
  void handle_empty();

  /// Describes the types of a message, Protobuf messages by full name.
  std::string describe_types(const caf::type_erased_tuple& xs) const;

  using super::enqueue;

  /// Enforces the mailbox bound and counts messages to an ended actor, then
  /// enqueues as CAF does.
  void enqueue(caf::mailbox_element_ptr what,
               caf::execution_unit* ctx) override;

  /// Handles one message and accounts for it: count and time in handler;
  /// under `drop_oldest`, discards it instead while the backlog is over the
  /// bound.
  caf::invoke_message_result consume(caf::mailbox_element& x) override;

  /// CAF's resume loop without its per-round clock read while no stream
  /// has started (actor/resume.cpp).
  caf::resumable::resume_result resume(caf::execution_unit* ctx,
                                       size_t max_throughput) override;

  /// The mailbox bound (unbounded by default). Constant after spawn.
  const mailbox_bound& bound() const noexcept {
    return bound_;
  }

  /// Messages waiting in the mailbox. Call only from inside the actor.
  uint64_t mailbox_depth();

  /// Restart permits: the supervisor's answer to this actor's next `n`
  /// throws, given ahead (see supervision/permits.cpp). Called by the
  /// supervisor, from its own thread, while it holds a handle to this actor.
  /// @private
  void grant_restart_permits(uint32_t n) noexcept {
    restart_permits_.fetch_add(n, std::memory_order_acq_rel);
  }

  /// Takes every unused permit back and returns how many there were.
  /// @private
  uint32_t revoke_restart_permits() noexcept {
    return restart_permits_.exchange(0, std::memory_order_acq_rel);
  }

  /// The figures, readable from any thread.
  const actor_figures& figures() const noexcept {
    return figures_;
  }

  /// Set while handling an introspection request, which is not counted.
  /// @private
  bool uncounted_ = false;

  /// One message in this many is timed (see `consume`).
  static constexpr uint64_t timing_stride = 8;

protected:
  /// Ends the actor with `errc::handler_failed` (the default policy).
  void default_failure(handler_failure& failure);

private:
  /// Answers the requester of the failing message, if any.
  void answer_failure(caf::response_promise& rp, const handler_failure& out);

  bool count_consumed(uint64_t n);

  caf::invoke_message_result consume_counted(caf::mailbox_element& x);

  caf::invoke_message_result consume_bounded(caf::mailbox_element& x);

  void enqueue_bounded(caf::mailbox_element_ptr what, caf::execution_unit* ctx);

  /// Accounts for a message the bound discards and answers a request.
  void discard(caf::mailbox_element& x, caf::execution_unit* ctx);

  /// Counts a one-way message to this actor after it ended.
  void count_gone(const caf::mailbox_element& x);

  /// Takes one of the supervisor's permits, if it gave any, for a throw now.
  bool take_restart_permit() noexcept;

  failure_handler failure_handler_;
  caf::actor parent_;
  /// Unused restart permits: the supervisor adds and takes back, this
  /// actor uses one per throw.
  std::atomic<uint32_t> restart_permits_{0};
  actor_figures figures_;
  mailbox_bound bound_;
  /// User messages in the mailbox (bounded mailboxes only): senders add,
  /// the actor subtracts.
  std::atomic<int64_t> queued_{0};
};

} // namespace troupe
