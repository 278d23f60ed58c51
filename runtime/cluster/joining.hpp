// SPDX-License-Identifier: Apache-2.0
// Joining as pure functions (tests/runtime/cluster/joining_test.cpp):
// whether a node may join, given the joiner's claims and this node's
// settings (the daemon answers a refused join with the error's text); whom
// a join attempt contacts; and when the daemon's tick tries again.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>

#include "troupe/cluster/cluster.hpp"

namespace troupe::cluster {

/// What a joiner says of itself in its `Join`.
struct joiner_claims {
  std::string name;
  int64_t heartbeat_ms = 0;
  int64_t failure_timeout_ms = 0;
  /// Gossip detection (`failure_detector_settings::gossip`, the default).
  bool gossip = true;
};

/// `errc::bad_config` when the joiner has this node's name, or when either
/// side's heartbeats would not come well within the other's failure
/// timeout (at most half of it: otherwise healthy idle links get dropped,
/// and CAF 0.17 checks only its own side); none otherwise.
caf::error check_joiner(const std::string& self_name,
                        const failure_detector_settings& mine,
                        const joiner_claims& joiner);

/// The endpoints a join attempt contacts: the seeds and the members
/// remembered from before a fence, each once, sorted, never this node's
/// own (`self_endpoint`).
std::vector<std::string> join_targets(const std::vector<std::string>& seeds,
                                      const std::vector<std::string>& remembered,
                                      const std::string& self_endpoint);

/// What the daemon's tick does about joining.
enum class join_step {
  none,
  /// Alone: contact the seeds and remembered members again.
  rejoin,
  /// A member: dial the seeds that are not live members (one may be back
  /// as a new process that started a cluster of its own).
  visit_seeds,
};

/// The tick's view of joining.
struct join_view {
  /// No member is live.
  bool alone = false;
  /// Connections are under way.
  bool connecting = false;
  /// There are seeds or remembered members to contact.
  bool has_targets = false;
  std::chrono::steady_clock::time_point last_attempt{};
  std::chrono::steady_clock::time_point last_seed_visit{};
};

/// A node alone tries again once no connection is under way and a failure
/// timeout (at least a second) passed since its last attempt; a member
/// visits the seeds every two failure timeouts (at least two seconds).
join_step next_join_step(const join_view& v,
                         std::chrono::steady_clock::time_point now,
                         std::chrono::milliseconds failure_timeout);

} // namespace troupe::cluster
