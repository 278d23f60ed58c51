// SPDX-License-Identifier: Apache-2.0
// Waiting for a member event in the multi-process tests.
#pragma once

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>

#include <caf/after.hpp>
#include <caf/scoped_actor.hpp>
#include <troupe/node/node.hpp>

namespace troupe::test {

/// Waits for a member event about `name` with `status` (`self` subscribed
/// with `node::subscribe_members`); returns the event or nothing after
/// `timeout` (a safety net: events arrive in milliseconds).
inline std::optional<troupe::member>
await_status(caf::scoped_actor& self, const std::string& name,
             troupe::member_status status, std::chrono::milliseconds timeout) {
  using steady = std::chrono::steady_clock;
  auto deadline = steady::now() + timeout;
  std::optional<troupe::member> result;
  while (!result && steady::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - steady::now());
    self->receive(
      [&](const troupe::member_event& ev) {
        if (ev.member.name == name && ev.member.status == status)
          result = ev.member;
      },
      caf::after(std::max(left, std::chrono::milliseconds{1})) >> [] {});
  }
  return result;
}

} // namespace troupe::test
