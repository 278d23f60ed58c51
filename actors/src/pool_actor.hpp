// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "troupe/actors/pool.hpp"

namespace troupe::actors::detail {

/// Spawns the actor behind `pool`: it starts `opts.workers` workers under a
/// supervisor of its own, cuts maps into chunks and hands them out (see
/// `pool`). `n` is needed only when `opts.placement` is set.
caf::actor spawn_pool(caf::actor_system& sys, troupe::node* n,
                      task_registry_ptr tasks, pool_options opts);

} // namespace troupe::actors::detail
