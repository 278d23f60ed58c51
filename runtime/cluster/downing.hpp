// SPDX-License-Identifier: Apache-2.0
// Downing decisions as pure functions of a view of the members and a time
// (no actor, no clock), so that they are unit-tested on made-up views
// (tests/runtime/cluster/downing_test.cpp). The daemon builds the view.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace troupe::cluster {

/// One other member as the keep-majority rule sees it.
struct quorum_entry {
  std::string name;
  /// Up and heard from.
  bool live = false;
  /// Marked down because it went silent (a frozen or cut-off node), as
  /// opposed to a process that died (its connections closed at once).
  bool unreachable = false;
  /// When it was marked down (meaningful when `unreachable`).
  std::chrono::steady_clock::time_point down_at{};
};

/// Whether this node (`self_name`), with the members it can still reach,
/// is a minority of the members it knew, as Akka's keep-majority: members
/// that died outright do not count; one that became unreachable counts
/// only if it went down within `failure_timeout` before `now` (the losses
/// of one partition arrive within a heartbeat interval of each other, and
/// once this side decided to carry on, the lost members are out of the
/// cluster: a later loss is judged on the members left). A tie goes to the
/// side holding the smallest name among all counted members.
bool in_minority(const std::string& self_name,
                 const std::vector<quorum_entry>& others,
                 std::chrono::steady_clock::time_point now,
                 std::chrono::steady_clock::duration failure_timeout);

} // namespace troupe::cluster
