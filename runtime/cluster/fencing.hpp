// SPDX-License-Identifier: Apache-2.0
// Incarnations as pure functions (tests/runtime/cluster/fencing_test.cpp):
// how a node numbers a new one, and whether a message from a member's
// incarnation comes from one that is fenced. The daemon holds the records
// (its peers and tombstones); the node's one current incarnation is
// `core::incarnation`.
#pragma once

#include <chrono>
#include <cstdint>

namespace troupe::cluster {

/// The incarnation that follows `previous` at `now`: the wall clock in
/// microseconds, so that a restarted process (which knows no previous one)
/// comes back with a larger number, and at least `previous + 1`, so that a
/// node fenced twice within a microsecond or after the clock stepped back
/// still moves on. A node starts with `next_incarnation(0, now)`.
uint64_t next_incarnation(uint64_t previous,
                          std::chrono::system_clock::time_point now) noexcept;

/// What this node holds of a member: the incarnation it lists (or buried,
/// see tombstones.hpp) and how it judged it.
struct incarnation_record {
  uint64_t incarnation = 0;
  /// Marked down (a tombstone always is). A member that left is not: its
  /// incarnation ended on purpose and says so itself.
  bool down = false;
  /// Marked down by this node when or before this node was fenced itself.
  bool by_own_fence = false;
};

enum class fence_verdict {
  /// Its messages count: the listed incarnation (up or left) or a newer one.
  not_fenced,
  /// An older incarnation, or the listed one marked down: it is told so.
  fenced,
  /// The listed incarnation, marked down only by this node when or before
  /// it was fenced itself: that judgement is void. Its messages are ignored
  /// but it is not told it is fenced (a frozen node that wakes up would
  /// otherwise fence the healthy members whose heartbeats reach it before
  /// it has met them again).
  void_judgement,
};

/// The verdict on a message from `incarnation` of a member of which this
/// node holds `known` (null: nothing, a stranger, not fenced).
fence_verdict judge_incarnation(const incarnation_record* known,
                                uint64_t incarnation) noexcept;

} // namespace troupe::cluster
