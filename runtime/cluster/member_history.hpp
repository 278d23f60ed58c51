// SPDX-License-Identifier: Apache-2.0
// What this node saw happen to the cluster's members, newest last: joins,
// rejoins as a new incarnation, downs (with why, and how long the member
// had been silent when it was judged: the detection time), leaves, this
// node's own fencing, and members forgotten. A bounded ring the daemon
// writes and the introspection reads (the dashboard's timeline).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace troupe::cluster {

struct member_change {
  /// Set by `member_history::record`: 1, 2, ... in this node's process.
  uint64_t seq = 0;
  int64_t unix_ms = 0;
  std::string name;
  uint64_t incarnation = 0;
  /// "joined", "rejoined" (a new incarnation of a known name), "down",
  /// "left", "fenced" (this node) or "forgotten".
  std::string change;
  std::string why;
  /// For a down: how long nothing had been heard from it when it was
  /// judged down (-1: not a down, or not known).
  int64_t silent_ms = -1;
};

class member_history {
public:
  static constexpr size_t capacity = 256;

  /// Adds `x`, stamped with the next number and, when `x.unix_ms` is 0,
  /// the system clock; the oldest goes beyond `capacity`.
  void record(member_change x);

  /// Oldest first.
  std::vector<member_change> recent() const;

  /// The incarnation this node last saw of `name` (0: never).
  uint64_t last_incarnation(const std::string& name) const;

private:
  mutable std::mutex mtx_;
  std::deque<member_change> changes_;
  uint64_t next_seq_ = 1;
};

} // namespace troupe::cluster
