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

/// Makes the node's flow actor (see `core::flow_window`).
caf::actor make_flow_actor(caf::actor_system& sys, std::shared_ptr<core> c);

} // namespace troupe::cluster
