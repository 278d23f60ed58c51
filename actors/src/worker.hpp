// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <caf/behavior.hpp>

#include "troupe/actor/stateful_actor.hpp"
#include "troupe/actors/task_registry.hpp"

namespace troupe::actors::detail {

struct worker_state {
  static inline const char* name = "troupe.actors.worker";
};

/// A pool worker: runs chunks of a job in this process (`local_chunk`) or
/// encoded ones from a pool on another node (`wire::Chunk`, through the
/// task registered under its name in `tasks`). A task that throws makes
/// the worker fail ("let it crash"); its supervisor restarts it.
caf::behavior worker(stateful_actor<worker_state>* self,
                     task_registry_ptr tasks);

} // namespace troupe::actors::detail
