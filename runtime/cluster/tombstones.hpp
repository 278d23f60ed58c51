// SPDX-License-Identifier: Apache-2.0
// Forgetting members: when one that left or went down leaves the view, and
// the tombstones that keep a down incarnation fenced after that.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/node_id.hpp>

#include "troupe/cluster/cluster.hpp"

namespace troupe::cluster {

using steady_time = std::chrono::steady_clock::time_point;

/// How long a member that left or is down stays in the view: the
/// configured time, but at least two failure timeouts (the minority rule
/// counts members that became unreachable for one failure timeout).
std::chrono::milliseconds
forget_delay(const failure_detector_settings& fd) noexcept;

/// Whether a member in `status` since `since` leaves the view at `now`.
/// Only members that left or are down are forgotten. Pure.
bool forget_now(member_status status, steady_time since, steady_time now,
                std::chrono::milliseconds delay) noexcept;

/// What stays of a forgotten member that went down: enough to refuse its
/// incarnation (a frozen or cut-off process may come back with it).
struct tombstone {
  uint64_t incarnation = 0;
  caf::node_id nid;
  /// Marked down by this node when or before it was fenced itself.
  bool by_own_fence = false;
  steady_time since;
};

/// The tombstones of a node's daemon: at most `max` of them, each for at
/// most `ttl`, the oldest dropped first. Not thread safe (the daemon's).
class tombstones {
public:
  /// Keeps the tombstone of the newest incarnation of `name`.
  void add(const std::string& name, tombstone x);

  const tombstone* find(const std::string& name) const;

  void erase(const std::string& name);

  /// Drops those older than `ttl` at `now`, then the oldest beyond `max`;
  /// returns how many went.
  size_t expire(steady_time now, std::chrono::milliseconds ttl, size_t max);

  /// Marks every tombstone as judged by an incarnation that was fenced.
  void void_judgements();

  /// The CAF node ids of the forgotten incarnations (still unreachable).
  std::vector<caf::node_id> nids() const;

  size_t size() const noexcept {
    return xs_.size();
  }

private:
  std::map<std::string, tombstone> xs_;
};

} // namespace troupe::cluster
