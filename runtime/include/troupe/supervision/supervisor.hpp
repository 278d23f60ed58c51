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
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, child_status& x) {
  return f(caf::meta::type_name("troupe.child_status"), x.id, x.handle,
           x.stable,
           x.restarts, x.last_failure, x.last_failure_ns, x.running,
           x.kind);
}

/// Asks a supervisor for a `std::vector<child_status>`.
using children_atom = caf::atom_constant<caf::atom("children")>;

/// `(start_child_atom, child_spec)`: adds and starts a child at run time
/// (OTP's dynamic children, Elixir's DynamicSupervisor). Reply: its
/// `child_status`, or an error if the id is taken or the child did not start.
using start_child_atom = caf::atom_constant<caf::atom("startchild")>;

/// `(terminate_child_atom, id)`: stops a child (within its shutdown time)
/// and forgets it. Reply: nothing, or an error for an unknown id.
using terminate_child_atom = caf::atom_constant<caf::atom("termchild")>;

/// Spawns a supervisor that starts `children` in order, restarts them by
/// `flags`, and stops them in reverse order when it stops.
///
/// Troupe actors spawned from a child's `start` function (directly, with
/// `troupe::spawn`) are restarted *in place* when a handler throws: same
/// address, same mailbox, fresh state; only the failing message is lost and
/// its requester gets an error. A child that exits or is killed is spawned
/// anew from `start`. Both count towards the restart intensity.
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
