// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <caf/after.hpp>
#include <caf/scoped_actor.hpp>

#include <troupe/node/node.hpp>

namespace troupe::test {

/// Waits for the `name_event` after which the node's table has `name` held
/// by an actor that satisfies `ok` (invalid when released). `self` must be
/// subscribed with `node::subscribe_names`; the timeout is a safety net.
inline bool await_holder(caf::scoped_actor& self, troupe::node& n,
                         const std::string& name,
                         std::function<bool(const caf::actor&)> ok,
                         std::chrono::milliseconds timeout
                         = std::chrono::seconds{5}) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!ok(n.whereis_global(name))) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return false;
    self->receive([](const troupe::name_event&) {},
                  caf::after(left) >> [] {});
  }
  return true;
}

} // namespace troupe::test
