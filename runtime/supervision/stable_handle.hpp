// SPDX-License-Identifier: Apache-2.0
// The handle a supervisor hands out for a child: it survives restarts.
#pragma once

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

namespace troupe::supervision {

/// Supervisor -> stable handle: the child's current incarnation (or none:
/// hold messages until the next one).
using target_atom = caf::atom_constant<caf::atom("stbltarget")>;

/// Supervisor -> stable handle: the child will not come back (unless a
/// later `target_atom` names a new incarnation, after `restart_child`).
using gone_atom = caf::atom_constant<caf::atom("stblgone")>;

/// Spawns a stable handle: it forwards every message (sender and request
/// ID intact, so replies go straight to the client) to the child's current
/// incarnation, holds messages while the child is being respawned, and
/// answers requests with an error once the child is gone.
caf::actor spawn_stable_handle(caf::local_actor* owner);

} // namespace troupe::supervision
