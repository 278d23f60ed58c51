// SPDX-License-Identifier: Apache-2.0
// The mailbox depths of many actors at once: a snapshot needs every
// troupe actor's, and only the actor itself can count its mailbox. Asked
// one after the other, 10,000 actors cost 10,000 round trips through the
// scheduler every second a dashboard watches (69% of a core measured);
// asked all at once from one event-based actor, they cost one wait.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

namespace troupe::detail {

/// Each target's depth (urgent request, so it does not wait behind the
/// mailbox it measures), in order; nothing for a target that did not
/// answer within `timeout` (or is gone).
std::vector<std::optional<uint64_t>>
mailbox_depths(caf::actor_system& sys, std::vector<caf::actor> targets,
               std::chrono::milliseconds timeout);

} // namespace troupe::detail
