// SPDX-License-Identifier: Apache-2.0
// The hook through which supervisors bind cluster-wide names without seeing
// the cluster layer (the node registers it).
#pragma once

#include <functional>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

namespace troupe::supervision {

/// Binds `name` to `hdl` cluster-wide, taking it from whoever holds it.
/// Must not block: it runs inside a supervisor.
using name_binder = std::function<void(const std::string& name,
                                       const caf::actor& hdl)>;

/// Installs the binder of `sys` (the node does, at start); an empty one
/// removes it. Thread-safe.
void set_name_binder(caf::actor_system& sys, name_binder fn);

/// The binder of `sys`, or an empty function when no node runs on it.
name_binder name_binder_of(caf::actor_system& sys);

} // namespace troupe::supervision
