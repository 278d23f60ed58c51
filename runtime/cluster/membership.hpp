// SPDX-License-Identifier: Apache-2.0
// One node's gossip membership and failure detection, without I/O or a
// clock (tests/runtime/cluster/membership_test.cpp; tools/sim/ runs a
// thousand of them on a simulated network): it holds the view
// (gossip_view.hpp), the ring (monitor_ring.hpp) and this node's detector
// (heartbeat_watch.hpp), and its owner feeds it what arrived and the time.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cluster/gossip_downing.hpp"
#include "cluster/gossip_view.hpp"
#include "cluster/heartbeat_watch.hpp"
#include "cluster/member_key.hpp"
#include "cluster/monitor_ring.hpp"

namespace troupe::cluster {

struct membership_settings {
  /// Monitors per member (fewer when the cluster is smaller).
  size_t monitors = 5;
  /// How often `tick` is called: a heartbeat to each watched member, and a
  /// verdict on each.
  std::chrono::milliseconds heartbeat_interval{200};
  /// A watched member silent this long is observed unreachable.
  std::chrono::milliseconds failure_timeout{1000};
  /// A gap this long between two ticks means this node did not run.
  std::chrono::milliseconds stall_limit{500};
  downing_settings downing;
  /// A member that left or is down becomes a tombstone after this long...
  std::chrono::milliseconds forget_after{10000};
  /// ...and the tombstone is dropped after this long.
  std::chrono::milliseconds tombstone_ttl{std::chrono::hours{1}};
};

/// What a tick asks of the owner.
struct tick_result {
  /// Send a heartbeat to each (each answers with its name and
  /// incarnation; the answer goes to `membership::heard`).
  std::vector<member_key> heartbeat_to;
  /// Members this node marked down in this tick.
  std::vector<member_key> downed;
  /// This incarnation is out: it was on the minority side, or the
  /// cluster marked it down. The owner fences (a new incarnation, a
  /// rejoin) and starts a new `membership`.
  bool fenced = false;
};

/// Not thread safe (its owner's: the daemon, or one simulated node).
class membership {
public:
  using time_point = std::chrono::steady_clock::time_point;

  membership(member_key self, std::string endpoint, membership_settings cfg,
             time_point now);

  const member_key& self() const noexcept {
    return self_;
  }

  const gossip_view& view() const noexcept {
    return view_;
  }

  /// Joins gossiped records into the view; returns whether it changed.
  /// Records of an incarnation whose tombstone this node dropped are
  /// refused for another `tombstone_ttl` (the other nodes drop theirs
  /// meanwhile; without this they would hand it back and forth).
  bool merge(const std::vector<member_record>& xs, time_point now);

  /// A heartbeat answer of `from` arrived at `at`.
  void heard(const member_key& from, time_point at);

  /// This node leaves: `leaving` now, `left` once `done` (the owner calls
  /// it when its work moved away).
  void leave(bool done);

  /// The periodic work, every heartbeat interval: judge the watched
  /// members, post what changed, forget the long gone, decide downs.
  tick_result tick(time_point now);

  /// The records that changed here (by a merge or this node's own doing)
  /// since the last call, to push to a few members at once rather than
  /// wait for the next gossip round: a change then reaches every node in
  /// O(log N) hops of network latency. Each node pushes a change once,
  /// so pushes stop when everyone knows.
  std::vector<member_record> take_changes();

  /// Whether `take_changes` has something.
  bool has_changes() const noexcept {
    return !changed_.empty();
  }

  /// Up to `n` gossip partners: ring members other than this node, chosen
  /// by the caller's `random` number.
  std::vector<member_key> gossip_partners(size_t n, uint64_t random) const;

  /// The ring and unreachable set of the view as of the last tick.
  const monitor_ring& ring() const noexcept {
    return ring_;
  }

  /// The members this node watches (the ring's, skipping the unreachable,
  /// as of the last tick): what it probes and listens to.
  std::vector<member_key> watched() const {
    return watch_.subjects();
  }

  const std::set<std::string>& unreachable() const noexcept {
    return unreachable_;
  }

private:
  bool apply(const member_record& x);
  void refresh(time_point now);
  void post(const member_key& subject, bool unreachable);
  void forget(time_point now);

  member_key self_;
  membership_settings cfg_;
  gossip_view view_;
  heartbeat_watch watch_;
  monitor_ring ring_;
  std::set<std::string> unreachable_;
  time_point unreachable_since_;
  downing_assessment assessment_;
  std::set<std::string> changed_; // since take_changes
  std::set<std::string> touched_; // since refresh
  std::set<std::string> claimed_; // members this node observes unreachable
  uint64_t seq_ = 0;
  bool dirty_ = true;        // the view changed since refresh
  bool ring_dirty_ = true;   // the ring's members changed since refresh
  bool assess_dirty_ = true; // the view changed since assessment_
  // When each record was first seen left, down or removed (local time).
  std::map<std::string, std::pair<gossip_status, time_point>> gone_;
  // Dropped tombstones: the incarnation refused, and since when.
  std::map<std::string, std::pair<uint64_t, time_point>> dropped_;
};

} // namespace troupe::cluster
