// SPDX-License-Identifier: Apache-2.0
// Where a spawn goes: a pure function of the members that offer to host
// and the placement asked for (tests/runtime/cluster/placing_test.cpp). The
// daemon lists the offers (itself and its live peers) and keeps the
// round-robin counter.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "troupe/cluster/cluster.hpp"

namespace troupe::cluster {

/// A member that may host: its name, its load (running actors, from its
/// heartbeats) and the actor types it registered.
struct host_offer {
  std::string name;
  uint32_t load = 0;
  std::vector<std::string> actor_types;
};

/// The member to spawn `type` on, or "" if none can: `self` is this node,
/// `others` the live members. Members in `excluded` and members without
/// the type are skipped. `local` takes this node or none; `least_loaded`
/// the least loaded (ties by name); `round_robin` the candidates in name
/// order, in turn (`turn` counts the turns and is advanced); `spread` like
/// round_robin without this node, unless no other member can host.
std::string choose_host(const std::string& type, placement how,
                        const host_offer& self,
                        const std::vector<host_offer>& others,
                        const std::vector<std::string>& excluded,
                        uint64_t& turn);

} // namespace troupe::cluster
