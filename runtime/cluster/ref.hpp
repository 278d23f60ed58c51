// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "cluster/core.hpp"

namespace troupe::cluster {

/// Makes a troupe handle: an actor that forwards every message, in the
/// sender's own thread (no extra hop, no mailbox), to the actor currently
/// registered under `name`, or to `fixed` when `name` is empty.
///
/// It is what makes remote failure honest: a request it forwards to another
/// node is remembered until answered, and fails with `errc::node_down` the
/// moment that node is marked down (stock CAF 0.17 never fails it); a
/// message to a node already down, or to a name nobody holds, fails a
/// request at once and counts as a dead letter otherwise.
caf::actor make_ref(caf::actor_system& sys, std::shared_ptr<core> c,
                    std::string name, caf::actor fixed = {});

/// Whether `hdl` is an actor of another node reached through `sys` (a proxy
/// or a mirror), not one of `sys` or of another node in this process.
bool of_another_node(const caf::actor_system& sys, const caf::actor& hdl);

/// The handle a user gets for `hdl`: `hdl` itself when it is invalid, of
/// this node (or of another node in this very process) or already a troupe
/// handle; for an actor of another node, a mirror with that actor's own
/// address (so it compares equal to CAF's handles of it), or a troupe
/// handle of it when direct links are off. Either way a request through it
/// fails with `errc::node_down` the moment that node is marked down, and a
/// monitor on it fires when the actor or its node goes.
caf::actor make_honest(caf::actor_system& sys, std::shared_ptr<core> c,
                       const caf::actor& hdl);

/// Makes a mirror: the handle, with the remote actor's own address
/// (`nid`, `aid`), that stands for the sender of a message that came over
/// a direct link. Messages to it go back over the link to `nid`; it ends
/// with `node_down` when that link closes (see `retire_mirror`).
caf::strong_actor_ptr make_mirror(caf::actor_system& sys,
                                  std::shared_ptr<core> c,
                                  const caf::node_id& nid, caf::actor_id aid);

void retire_mirror(const caf::strong_actor_ptr& mirror, caf::error reason);

/// Makes the node's flow actor (see `core::flow_window`).
caf::actor make_flow_actor(caf::actor_system& sys, std::shared_ptr<core> c);

} // namespace troupe::cluster
