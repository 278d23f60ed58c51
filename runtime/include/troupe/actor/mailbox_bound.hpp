// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>

namespace troupe {

/// What a bounded mailbox does with a message that finds it full.
enum class overflow_policy {
  /// The arriving message is discarded: the actor handles the first
  /// `capacity` of a burst.
  drop_newest,
  /// The oldest waiting message is discarded: the actor handles the last
  /// `capacity` of a burst (the newest values win).
  drop_oldest,
  /// The arriving message is refused and its sender is told where CAF can
  /// tell it: a request is answered with `errc::mailbox_full`.
  reject,
};

/// Returns `"drop_newest"`, `"drop_oldest"` or `"reject"`.
const char* to_string(overflow_policy x) noexcept;

/// An optional bound on the messages waiting in a troupe actor's mailbox.
///
/// Given at spawn (`troupe::spawn(sys, mailbox_bound{64, overflow_policy::
/// drop_oldest}, fn, ...)`) or in a `child_spec`; the default, capacity 0,
/// is unbounded and costs one branch per message.
///
/// Exactly what is bounded: *user* messages that wait, counted when they
/// are enqueued and uncounted when the actor takes one for its handler (a
/// message the behavior skips waits again and counts again, which may put
/// the count one over the bound for a moment). Control messages are never counted, dropped or refused: system
/// messages (exit, down, error, timeouts, streams), responses to the
/// actor's own requests, the cluster's events (`member_event`,
/// `name_event`), supervision and introspection messages. A full mailbox
/// thus never keeps an actor from being stopped, restarted or asked for
/// its figures.
///
/// - `drop_newest` and `reject` decide at enqueue, in the sender's thread,
///   with one compare-and-swap: at most `capacity` user messages ever wait
///   in the mailbox.
/// - `drop_oldest` cannot take a message out of CAF's lock-free inbox from
///   the sender's thread, so every message is enqueued and the actor
///   discards, when it takes the next user message, as many of the oldest
///   as exceed the bound. It handles the last `capacity` messages of a
///   burst, but memory is bounded only when the actor runs: while it is
///   stuck in a handler, its backlog grows.
///
/// Whatever the policy, a discarded request is answered with
/// `errc::mailbox_full` (no requester waits for a reply that cannot come),
/// and every discarded message counts in the actor's `dropped` figure and
/// the node's `mailbox_dropped` total; a discarded one-way message is also
/// a dead letter of the node (reason `mailbox_full`). Under `reject` the
/// overflow is the sender's to see; under the drop policies it is expected
/// (latest-value feeds, sampling) and only counted.
struct mailbox_bound {
  /// User messages that may wait; 0 is unbounded.
  size_t capacity = 0;
  overflow_policy policy = overflow_policy::reject;

  bool bounded() const noexcept {
    return capacity != 0;
  }
};

} // namespace troupe
