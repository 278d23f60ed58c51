// SPDX-License-Identifier: Apache-2.0
// A node's introspection, as a class of its own over the node: snapshots
// of its actor trees and of the whole cluster's, failing an actor for
// drills (`troupe kill`), and the "troupe.introspect" service that answers
// the `troupe` tool. The node only forwards its public calls here.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "troupe/node/node.hpp"

namespace troupe::detail {

class introspector {
public:
  explicit introspector(node& owner) : owner_(owner) {
  }

  introspector(const introspector&) = delete;
  introspector& operator=(const introspector&) = delete;

  /// This node's trees with figures and message rates; with `handles`,
  /// paths and handles only (no figures, so no actor is asked anything).
  wire::NodeSnapshot
  snapshot_local(std::map<std::string, caf::actor>* handles = nullptr);

  /// Every member's snapshot, as `node::snapshot_cluster` describes.
  wire::ClusterSnapshot snapshot_cluster(std::chrono::milliseconds timeout);

  /// As `node::fail_actor`.
  caf::expected<wire::KillReply> fail_actor(const std::string& path,
                                            node::fail_mode mode);

  /// Spawns the service registered as "troupe.introspect": it answers
  /// `wire::SnapshotRequest` and `wire::KillRequest`, each from a worker of
  /// its own, and refuses anything else.
  caf::actor spawn_service(caf::actor_system& sys);

private:
  node& owner_;
  // For message rates between snapshots.
  std::mutex mtx_;
  std::unordered_map<uint64_t, uint64_t> last_counts_;
  std::chrono::steady_clock::time_point last_snapshot_{};
};

} // namespace troupe::detail
