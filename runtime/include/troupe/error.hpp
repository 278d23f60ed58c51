// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace troupe {

/// Error codes of troupe's own `caf::error` category (`atom("troupe")`).
///
/// Expected failures travel as `caf::error` / `caf::expected<T>`; the context
/// message of an error made by `make_error(errc, text)` holds one string that
/// says what happened in words.
enum class errc : uint8_t {
  /// A message handler threw; the text names the exception and message type.
  handler_failed = 1,
  /// A message from another node was refused while decoding it.
  rejected_message,
  /// No actor is registered under the requested name.
  name_not_found,
  /// A configuration value is missing, unknown or malformed.
  bad_config,
  /// The node is not running (not started yet, or shut down).
  not_running,
  /// Connecting to another node failed.
  connect_failed,
  /// Exit reason a supervisor uses to make a child restart in place.
  restart_requested,
  /// A supervisor exceeded its restart intensity and gave up.
  escalated,
  /// The node that hosts the receiver was marked down (or left): the
  /// request will not be answered.
  node_down,
  /// A cluster-wide name is held by another actor.
  name_taken,
  /// Exit reason of an actor that lost a cluster-wide name conflict.
  name_conflict,
  /// This node was marked down by the cluster and rejoins as a new
  /// incarnation; exit reason of the actors it hosted for other nodes.
  fenced,
  /// A remote spawn failed: unknown actor type, no live node to place it,
  /// or the factory failed.
  spawn_failed,
  /// A bounded mailbox discarded the request (`troupe::mailbox_bound`);
  /// the text names the actor and its bound.
  mailbox_full,
  /// Exit reason of the actors a node hosted for other nodes when it leaves
  /// the cluster on purpose: their supervisors move them, uncounted.
  node_left,
  /// A supervisor was asked to restart or delete a child that is running
  /// (OTP's `{error, running}`).
  child_running,
  /// A journal write or read failed (I/O, a lost database connection,
  /// corrupt or unknown stored data); the text names the persistence id and
  /// sequence number where known.
  persistence_failed,
  /// A newer incarnation of a persistent actor took its writer epoch: this
  /// incarnation's write was refused and it stops for good.
  writer_fenced,
  /// A journal refused a write whose sequence number or revision is not the
  /// next one (a concurrent writer, or a compare-and-set that lost).
  revision_conflict,
  /// The database aborted a journal transaction for a conflict with a
  /// concurrent one (PostgreSQL's deadlock or serialization failure): it
  /// wrote nothing, and running it again may succeed. The journal service
  /// retries such a batch before it reports it.
  transaction_conflict,
};

/// The category atom of troupe's errors.
constexpr caf::atom_value error_category = caf::atom("troupe");

/// Returns the short name of `x`, such as `"rejected_message"`.
const char* to_string(errc x) noexcept;

/// True if `err` is troupe's error `code`.
inline bool is(const caf::error& err, errc code) noexcept {
  return err.category() == error_category
         && err.code() == static_cast<uint8_t>(code);
}

/// Makes an error of troupe's category without context.
caf::error make_error(errc x);

/// Makes an error of troupe's category with a human-readable context.
caf::error make_error(errc x, std::string text);

/// Renders any `caf::error` as one human-readable line: troupe errors as
/// `"<code>: <text>"`, CAF's own through `caf::to_string`.
std::string describe(const caf::error& x);

} // namespace troupe
