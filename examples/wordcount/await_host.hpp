// SPDX-License-Identifier: Apache-2.0
// The start of wordcount's `run` mode: waiting for a node that hosts its
// actors.
#pragma once

#include <algorithm>
#include <chrono>

#include <caf/scoped_actor.hpp>
#include <troupe/node/node.hpp>

namespace wordcount {

// In `run` mode: waits until a member that hosts mappers is up.
inline bool await_host(troupe::node& n) {
  caf::scoped_actor self{n.system()};
  n.subscribe_members(caf::actor_cast<caf::actor>(self));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  bool up = false;
  while (!up && std::chrono::steady_clock::now() < deadline)
    self->receive(
        [&](troupe::member_event& e) {
          auto& t = e.member.actor_types;
          up = e.member.status == troupe::member_status::up &&
               std::find(t.begin(), t.end(), "mapper") != t.end();
        },
        caf::after(std::chrono::seconds{1}) >> [] {});
  return up;
}

} // namespace wordcount
