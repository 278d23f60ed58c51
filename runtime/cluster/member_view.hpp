// SPDX-License-Identifier: Apache-2.0
// The members as this node's daemon last published them, for readers on
// any thread (troupe handles, link readers, introspection).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/node_id.hpp>

#include "troupe/cluster/cluster.hpp"

namespace troupe::cluster {

class member_view {
public:
  /// Every member this node knows of, itself included.
  std::vector<member> members() const;

  /// Publishes the daemon's view (the daemon is the only writer): every
  /// member, the CAF node ids of those that are not up, and the member
  /// name of each CAF node id.
  void publish(std::vector<member> xs, std::vector<caf::node_id> unreachable,
               std::vector<std::pair<caf::node_id, std::string>> ids = {});

  /// The member name of the node with CAF id `nid` (empty if unknown).
  std::string member_of(const caf::node_id& nid) const;

  /// Whether the node with CAF id `nid` is up (true for this node and for
  /// nodes the cluster does not know: plain CAF peers are not judged).
  bool reachable(const caf::node_id& nid) const;

  /// Whether `nid` is a known member that is up.
  bool up_member(const caf::node_id& nid) const;

  /// Waits until `nid` is a known member that is up, or `deadline`, or
  /// `give_up()` (checked every few milliseconds); returns whether it is.
  /// A peer that was told of this node can dial it before this node's
  /// daemon has taken the peer in (issue 17: refusing then held its
  /// messages for a 100 ms redial).
  bool await_up_member(const caf::node_id& nid,
                       std::chrono::steady_clock::time_point deadline,
                       const std::function<bool()>& give_up) const;

  /// Waits until the daemon published its first view (it does as it
  /// starts), or `deadline`; returns whether it did.
  bool await_first(std::chrono::steady_clock::time_point deadline) const;

  /// Actors spawned here for other nodes (written by the daemon).
  std::vector<caf::actor_addr> hosted() const;
  void set_hosted(std::vector<caf::actor_addr> xs);

  /// Forgets everything (the node stops).
  void clear();

private:
  bool up_locked(const caf::node_id& nid) const;

  mutable std::shared_mutex mtx_;
  // Signalled by publish (waited on with mtx_ shared).
  mutable std::condition_variable_any published_;
  std::vector<member> members_;
  // CAF node ids of members that are not up.
  std::vector<caf::node_id> unreachable_;
  std::vector<std::pair<caf::node_id, std::string>> ids_;
  std::vector<caf::actor_addr> hosted_;
};

} // namespace troupe::cluster
