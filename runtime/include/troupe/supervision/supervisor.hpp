// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

#include "troupe/supervision/child_spec.hpp"

namespace troupe {

/// One failure of a child and what its supervisor decided of it.
struct failure_record {
  /// Nanoseconds since the epoch of the actor clock.
  int64_t time_ns = 0;
  /// As `child_status::last_failure` words it.
  std::string failure;
  /// "restart in place", "respawn from its spec in 200 ms", "move to a
  /// live node", "start again", "give up: ..."; "(not counted)" when the
  /// restart did not count towards the intensity.
  std::string decision;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, failure_record& x) {
  return f(caf::meta::type_name("troupe.failure_record"), x.time_ns,
           x.failure, x.decision);
}

/// What a supervisor knows about one child (answer to `children_atom`).
struct child_status {
  std::string id;
  /// The current incarnation (changes when the child is respawned).
  caf::actor handle;
  /// A handle that stays valid across restarts and respawns: give this one
  /// to clients (and to `node::register_name`).
  caf::actor stable;
  uint64_t restarts = 0;
  std::string last_failure;
  /// Nanoseconds since the epoch of the actor clock, 0 if never failed.
  int64_t last_failure_ns = 0;
  bool running = false;
  child_kind kind = child_kind::worker;
  /// The cluster-wide name bound to it on every start (empty: none).
  std::string global_name;
  restart_type restart = restart_type::permanent;
  bool significant = false;
  /// Its last failures (at most 10), oldest first, each with what the
  /// supervisor decided.
  std::vector<failure_record> failures;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, child_status& x) {
  return f(caf::meta::type_name("troupe.child_status"), x.id, x.handle,
           x.stable,
           x.restarts, x.last_failure, x.last_failure_ns, x.running,
           x.kind, x.global_name, x.restart, x.significant, x.failures);
}

/// A supervisor's children by count (OTP's `count_children`).
struct child_counts {
  /// Children it knows, running or not.
  size_t specs = 0;
  /// Children running now.
  size_t active = 0;
  /// Children that are supervisors, and workers.
  size_t supervisors = 0;
  size_t workers = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, child_counts& x) {
  return f(caf::meta::type_name("troupe.child_counts"), x.specs, x.active,
           x.supervisors, x.workers);
}

// The messages a supervisor takes. `troupe::supervisor_handle`
// (supervisor_handle.hpp) wraps them in typed member functions; use that.

/// Asks a supervisor for a `std::vector<child_status>`, in start order
/// (OTP's `which_children`).
using children_atom = caf::atom_constant<caf::atom("children")>;

/// `(restart_child_atom, id)`: starts a child whose spec is kept but that
/// is not running (OTP's `restart_child`). Reply: its new handle;
/// `errc::child_running` if it runs, `errc::name_not_found` if unknown.
using restart_child_atom = caf::atom_constant<caf::atom("restchild")>;

/// `(delete_child_atom, id)`: forgets the spec of a child that is not
/// running (OTP's `delete_child`). Reply: nothing, or the errors above.
using delete_child_atom = caf::atom_constant<caf::atom("delchild")>;

/// `(count_children_atom)`: reply `child_counts`.
using count_children_atom = caf::atom_constant<caf::atom("countchild")>;

/// `(get_childspec_atom, id)`: reply the `child_spec`.
using get_childspec_atom = caf::atom_constant<caf::atom("getspec")>;

/// `(start_child_atom, child_spec)`: adds and starts a child at run time
/// (OTP's dynamic children, Elixir's DynamicSupervisor). Reply: its
/// `child_status`, or an error if the id is taken or the child did not start.
using start_child_atom = caf::atom_constant<caf::atom("startchild")>;

/// `(terminate_child_atom, id)`: stops a child (within its shutdown time)
/// and keeps its spec, so `restart_child` can start it again (OTP); a
/// temporary child is forgotten. Reply: nothing, once it is down, or an
/// error for an unknown id.
using terminate_child_atom = caf::atom_constant<caf::atom("termchild")>;

/// Spawns a supervisor that starts `children` in order, restarts them by
/// `flags`, and stops them in reverse order when it stops.
///
/// The supervisor decides every restart, by OTP's rules: the child's
/// restart type, the restart intensity, the strategy and the backoff
/// decide alike whether the child's handler threw or the child exited.
/// When a handler of a troupe actor spawned from a child's `start` function
/// (directly, with `troupe::spawn`) throws, the requester of the failing
/// message gets an error at once, and the actor waits (its mailbox keeps
/// filling, nothing is lost) until its supervisor orders it to restart
/// *in place* (same address, same mailbox, fresh state) or to stop. A
/// child that exits or is killed is spawned anew from `start`. Each
/// restart counts towards the intensity before it happens, so the one that
/// would exceed it does not happen: the supervisor stops its children and
/// fails instead. Children lost with their node count once per node;
/// children of a node that left count not at all (see `decision.hpp`).
/// Every failure and decision is logged as a crash report (rate-limited).
///
/// Clients should hold a child's `stable` handle: messages sent to it reach
/// the current incarnation. Exactly what happens around a respawn: messages
/// that reach the stable handle while the child is being respawned are held
/// and delivered to the new incarnation; messages already forwarded to the
/// dead incarnation are lost with its mailbox, and CAF answers the requests
/// among them with an error (`request_receiver_down`), so no request goes
/// unanswered; once the child will not come back (temporary, transient after
/// a normal exit, or the supervisor stopped), requests get that error and
/// one-way messages are logged as dead letters. Restart in place needs none
/// of this: the address and the queued messages stay.
caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_flags flags,
                            std::vector<child_spec> children);

} // namespace troupe
