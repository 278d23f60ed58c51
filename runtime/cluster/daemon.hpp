// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include "cluster/core.hpp"

namespace troupe::cluster {

// Local requests to a node's cluster daemon (never sent to other nodes).

/// `join_atom` → `bool`: joins through the seeds; answers once a seed
/// welcomed this node (true) or every seed was tried (false). Either way
/// the daemon keeps trying unreachable seeds in the background.
/// `(join_atom, endpoint)` adds a seed first.
using join_atom = caf::atom_constant<caf::atom("trp_join")>;
/// `(register_atom, name, hdl, rebind)` → unit or `name_taken`.
using register_atom = caf::atom_constant<caf::atom("trp_reg")>;
/// `(unregister_atom, name, addr)`: drops `name` if `addr` still holds it.
using unregister_atom = caf::atom_constant<caf::atom("trp_unreg")>;
/// `(subscribe_atom, listener)`: member events go to `listener`.
using subscribe_atom = caf::atom_constant<caf::atom("trp_sub")>;
/// `(subscribe_names_atom, listener)`: name events go to `listener`.
using subscribe_names_atom = caf::atom_constant<caf::atom("trp_subn")>;
/// `leave_atom` → unit: tells every member this node leaves.
using leave_atom = caf::atom_constant<caf::atom("trp_leave")>;
/// `(spawn_atom, type, node_or_empty, placement, args, excluded)` → actor.
using spawn_atom = caf::atom_constant<caf::atom("trp_spawn")>;

/// `sync_atom` → unit, once everything sent to the daemon before it has
/// been handled (a node waits so for the names its supervisors bound).
using sync_atom = caf::atom_constant<caf::atom("trp_sync")>;

/// `(peer_at_atom, "host:port")` → the daemon of the live member listening
/// there, or an invalid handle. Lets a node reach a member it is connected
/// to without dialing it again (CAF 0.17's BASP breaks a TLS link when a
/// second connection to the same node is made and closed).
using peer_at_atom = caf::atom_constant<caf::atom("trp_peerat")>;

/// Membership kept in etcd (`--membership etcd`): where, and the lease.
struct etcd_membership {
  std::vector<std::string> endpoints;
  std::chrono::milliseconds lease_ttl{3000};
};

/// What the daemon needs from its node.
struct daemon_config {
  std::shared_ptr<core> shared;
  /// `host:port` of the seeds.
  std::vector<std::string> seeds;
  /// Set: members are found (and a lost lease is a lost member) through
  /// etcd, besides the seeds.
  std::optional<etcd_membership> etcd;
};

/// Spawns the cluster daemon of a node: membership (join through seeds,
/// heartbeats, down detection, fencing and rejoin), the cluster-wide
/// names, and remote spawn. Served under the local name `troupe.cluster`.
caf::actor spawn_daemon(caf::actor_system& sys, daemon_config cfg);

} // namespace troupe::cluster
