// SPDX-License-Identifier: Apache-2.0
// What a supervisor keeps, shared by its lifecycle (supervisor.cpp) and its
// OTP API (supervisor_api.cpp).
#pragma once

#include <random>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/message_handler.hpp>
#include <caf/response_promise.hpp>

#include "supervision/decision.hpp"
#include "supervision/failure_history.hpp"
#include "troupe/actor/stateful_actor.hpp"
#include "troupe/supervision/supervisor.hpp"

namespace troupe::supervision {

struct child_entry {
  child_spec spec;
  /// The current incarnation; null while down.
  caf::actor hdl;
  /// Forwards to `hdl`, survives respawns (made on first demand).
  caf::actor stable;
  uint64_t restarts = 0;
  std::string last_failure;
  time_point last_failure_time{};
  /// Its last failures and what was decided of each.
  failure_history failures;
  /// Why its last start failed.
  std::string start_error;
  /// terminate_child: stop it, answer these when it is down.
  bool terminating = false;
  std::vector<caf::response_promise> terminated;
  /// Sent restart_requested by the strategy.
  bool restart_asked = false;
  /// Stopped while a sibling waits for its backoff (rest_for_one,
  /// one_for_all); started again with it.
  bool held = false;
  /// Waiting for its backoff delay before a respawn.
  bool respawn_pending = false;
  uint32_t backoff_step = 0;
  time_point started{};
  /// While it is asked to stop within its shutdown time: when that time is
  /// up (it is killed then); zero otherwise.
  time_point stop_deadline{};
  /// The current incarnation when it is a troupe actor in this process
  /// that this supervisor started and that can restart in place: the one
  /// a restart permit can go to. Valid while `hdl` holds it.
  actor_base* local = nullptr;
  /// Restart permits out: granted, not yet reported back, taken back or
  /// counted.
  uint32_t permits = 0;
  /// Restarts under permits counted by a settling, their reports due.
  uint32_t counted_ahead = 0;
};

struct supervisor_state;

using supervisor_actor = stateful_actor<supervisor_state>;

struct supervisor_state {
  static inline const char* name = "troupe.supervisor";

  /// Reads the path its parent gave it (see `detail::parent_scope`): the
  /// state is made while the supervisor is spawned.
  supervisor_state();

  /// Takes back every restart permit out: once it is gone, no child may
  /// restart without it (permits.cpp).
  void on_stop(supervisor_actor* self, const caf::error& reason);

  supervisor_flags flags;
  std::vector<child_entry> children;
  restart_intensity intensity;
  node_losses losses;
  /// This supervisor's path in crash reports (e.g. "/root/workers").
  std::string path;
  bool stopping = false;
  caf::error stop_reason;
  size_t stop_index = 0; // children[stop_index - 1] is being stopped
  /// When the earliest stop timer it sent itself fires; zero when none is
  /// pending. One timer serves every stopping child (children.cpp).
  time_point stop_timer{};
  /// Restart permits out (see permits.cpp).
  size_t permits = 0;
  std::minstd_rand rng;  // backoff jitter
};

/// Restart permits: under one_for_one, the supervisor may answer a
/// child's next throw ahead (restart in place), when that restart fits the
/// intensity whenever it comes, counting every permit out. Before any other
/// restart is counted, and before stopping, every permit out is settled:
/// taken back if unused, else counted. The intensity thus sees the same restarts, in the same order, as
/// if each child had asked (a restart under a permit is counted when the
/// supervisor learns of it, as one it ordered is counted when it orders
/// it). False when a settled restart did not fit (it cannot, by the rule
/// above; the caller escalates as for any restart).
bool settle_permits(supervisor_actor* self);

/// Gives permits to every child that may have them, while they fit.
void grant_permits(supervisor_actor* self);

/// Counts one restart under a permit at `now`; false when it did not fit.
bool count_permit_restart(supervisor_actor* self, child_entry& child,
                          time_point now);

/// Sets `child.local` for its new incarnation (after a start).
void adopt_local(supervisor_actor* self, child_entry& child);

/// Sent to itself when the earliest shutdown time of its stopping children
/// is up.
using stop_timeout_atom = caf::atom_constant<caf::atom("stoptmo")>;

child_entry* find(supervisor_actor* self, const std::string& id);

/// The child whose current incarnation is `addr`, or null. Compares
/// pointers (no reference count touched) and looks first at the child an
/// ordered stop waits for: a stop of n children is O(n), not O(n^2).
child_entry* find(supervisor_actor* self, const caf::actor_addr& addr);

size_t index_of(supervisor_actor* self, const child_entry& child);

/// The child's path in crash reports: the supervisor's path and its id.
std::string child_path(supervisor_actor* self, const child_entry& child);

/// Starts (or restarts from its spec) one child; false when `start`
/// returned no actor.
bool start_child(supervisor_actor* self, child_entry& child);

/// The child's stable handle, made on first demand.
const caf::actor& ensure_stable(supervisor_actor* self, child_entry& child);

/// Asks a child to stop within its shutdown time (zero: kill at once).
void stop_child(supervisor_actor* self, child_entry& child);

/// The stop timer fired: kills the stopping children whose shutdown time
/// is up (if they are still to stop) and arms it for the next.
void on_stop_timer(supervisor_actor* self);

/// Drops a child for good: its stable handle answers `reason` from now on.
void forget_child(supervisor_actor* self, child_entry& child,
                  const caf::error& reason);

/// Tells the child's stable handle that no incarnation follows (for now).
void mark_gone(supervisor_actor* self, child_entry& child, caf::error reason);

child_status status_of(supervisor_actor* self, child_entry& child);

/// The OTP API: start_child, restart_child, terminate_child, delete_child,
/// which_children, count_children, get_childspec (supervisor_api.cpp).
caf::message_handler api_handlers(supervisor_actor* self);

} // namespace troupe::supervision
