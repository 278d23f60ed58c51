// SPDX-License-Identifier: Apache-2.0
// The membership that nodes gossip (tests/runtime/cluster/gossip_view_test
// .cpp): one record per member with its status and what its monitors
// observed of it, merged by a join that is commutative, associative and
// idempotent (a state CRDT), so views converge whatever order, repetition
// or path the gossip takes; and digests, so that a round sends only the
// records that differ. Pure: no clock, no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cluster/member_key.hpp"

namespace troupe::cluster {

/// A member's status in the gossip, in the order the join takes: at the
/// same incarnation the later status wins. `removed` is a tombstone: a
/// member that left or was down and is forgotten; it keeps only name and
/// incarnation, so that older gossip cannot bring that incarnation back.
enum class gossip_status : uint8_t {
  up = 0,
  leaving = 1,
  left = 2,
  down = 3,
  removed = 4,
};

const char* to_string(gossip_status x) noexcept;

/// What one monitor last said of a member. Only that monitor writes it;
/// `observer_incarnation` then `seq` order its writes (a restarted monitor
/// counts anew from a larger incarnation).
struct observation {
  bool unreachable = false;
  uint64_t observer_incarnation = 0;
  uint64_t seq = 0;
};

bool operator==(const observation& x, const observation& y) noexcept;

/// One member's record.
struct member_record {
  std::string name;
  uint64_t incarnation = 0;
  gossip_status status = gossip_status::up;
  /// Where the member is reached ("host:port"), set by the member itself.
  std::string endpoint;
  /// By observer name. Empty in a tombstone.
  std::map<std::string, observation> observations;

  member_key key() const {
    return {name, incarnation};
  }
};

bool operator==(const member_record& x, const member_record& y) noexcept;

/// The join of two records of the same member: the larger incarnation
/// wins whole (a restarted member replaces its old record); at the same
/// incarnation the later status, and per observer its later observation.
member_record join(const member_record& x, const member_record& y);

/// A 64-bit digest of a record's whole content (FNV-1a, finalized).
uint64_t digest(const member_record& x) noexcept;

/// What a gossip round sends: the records this side holds differently,
/// and the names whose records it wants from the other side.
struct gossip_delta {
  std::vector<member_record> records;
  std::vector<std::string> wanted;
};

/// Records by name, with a digest of the whole view kept up to date as it
/// changes. Not thread safe (its owner's).
class gossip_view {
public:
  /// Joins `x` into the view; returns whether the view changed.
  bool merge(const member_record& x);

  /// Joins every record of `other`; returns whether the view changed.
  bool merge(const gossip_view& other);

  /// Drops a record (a tombstone that outlived its time to live). The
  /// one operation outside the join.
  void erase(const std::string& name);

  const member_record* find(const std::string& name) const;

  const std::map<std::string, member_record>& records() const noexcept {
    return records_;
  }

  /// The digest of the whole view: equal views have equal digests (an
  /// order-independent sum of the records' digests).
  uint64_t digest() const noexcept {
    return digest_;
  }

  /// Each record's digest, by name (what a round sends when the views'
  /// digests differ).
  std::vector<std::pair<std::string, uint64_t>> digests() const;

  /// What to send to a node whose record digests are `theirs` (sorted by
  /// name, as `digests` gives them): this view's records missing or
  /// different there, and the names it lacks or holds differently.
  gossip_delta
  delta_for(const std::vector<std::pair<std::string, uint64_t>>& theirs) const;

  /// The records named in `names` that this view holds.
  std::vector<member_record>
  records_for(const std::vector<std::string>& names) const;

private:
  std::map<std::string, member_record> records_;
  std::map<std::string, uint64_t> digests_;
  uint64_t digest_ = 0;
};

bool operator==(const gossip_view& x, const gossip_view& y) noexcept;

} // namespace troupe::cluster
