// SPDX-License-Identifier: Apache-2.0
// Who watches whom (tests/runtime/cluster/monitor_ring_test.cpp): the
// members on a ring ordered by a hash of name and incarnation, each
// watching the next k, as Akka's HeartbeatNodeRing does. Every node that
// holds the same view computes the same assignment, and one member joining
// or leaving changes about 2k of the n·k pairs. Pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster/member_key.hpp"

namespace troupe::cluster {

/// A member's place on the ring: FNV-1a over the name, a zero byte and the
/// incarnation's eight bytes (little endian), then a 64-bit finalizer. The
/// same on every platform and compiler (unlike `std::hash`), so nodes built
/// differently still agree.
uint64_t ring_position(const std::string& name, uint64_t incarnation) noexcept;

/// The monitoring ring of one view. Not thread safe (built and read by one
/// owner; cheap to rebuild when the view's members change).
class monitor_ring {
public:
  /// The members that take part (up or leaving: gossip_downing.hpp's
  /// `ring_members`), each name once; `k` monitors per member (at most the
  /// n - 1 others).
  monitor_ring(std::vector<member_key> members, size_t k);

  /// The members `observer` watches: walking the ring onwards from it, each
  /// member in turn until `k` that are not in `unreachable` were taken.
  /// The unreachable ones passed on the way are watched too (so their
  /// monitors see them come back), and each member keeps k monitors that
  /// can still answer for it. Empty for a name that is not on the ring.
  std::vector<member_key>
  watched_by(const std::string& observer,
             const std::set<std::string>& unreachable = {}) const;

  /// The members that watch `subject` (the reverse of `watched_by` with
  /// the same `unreachable`), nearest first.
  std::vector<member_key>
  monitors_of(const std::string& subject,
              const std::set<std::string>& unreachable = {}) const;

  /// Whether each member, in ring order, is in `names` (for the walks
  /// below without a lookup by name at each step).
  std::vector<bool> mask(const std::set<std::string>& names) const;

  /// The position of `name` in ring order, or `size()` if not on the ring.
  size_t position(const std::string& name) const;

  /// `watched_by` and `monitors_of` of the member at ring position `i`,
  /// with the unreachable ones given as a `mask`.
  std::vector<member_key> watched_by(size_t i,
                                     const std::vector<bool>& skip) const;
  std::vector<member_key> monitors_of(size_t i,
                                      const std::vector<bool>& skip) const;

  /// The members in ring order.
  const std::vector<member_key>& members() const noexcept {
    return ring_;
  }

  size_t k() const noexcept {
    return k_;
  }

private:
  std::vector<member_key> ring_;
  std::unordered_map<std::string, size_t> index_;
  size_t k_;
};

} // namespace troupe::cluster
