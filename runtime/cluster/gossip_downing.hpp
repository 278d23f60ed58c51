// SPDX-License-Identifier: Apache-2.0
// Downing over the gossiped reachability, as pure functions of a view
// (tests/runtime/cluster/gossip_downing_test.cpp): which members count as
// unreachable, and which of them this node marks down, or whether it is on
// the minority side and downs itself (downing.hpp's keep-majority rule,
// ties included).
#pragma once

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "cluster/gossip_view.hpp"
#include "cluster/member_key.hpp"
#include "cluster/monitor_ring.hpp"

namespace troupe::cluster {

/// The members that take part in monitoring (up or leaving), the ring's
/// members.
std::vector<member_key> ring_members(const gossip_view& v);

/// The ring's members that some ring member observes unreachable (Akka's
/// rule: one observer suffices to stop counting a member as reachable;
/// downing it asks more, see `decide_downs`).
std::set<std::string> unreachable_members(const gossip_view& v);

/// Whether `r`, a record of `v`, is among `unreachable_members(v)`.
bool is_unreachable(const gossip_view& v, const member_record& r);

/// Whether the loss may be wider than this view shows yet: k members or
/// more (all others but one in a small cluster) are unreachable, so some
/// member may have lost every monitor it had and nobody on this side
/// watched it long enough to tell (its new monitors, on the ring skipping
/// the unreachable, need a failure timeout, and their claims come in a
/// second wave); and some member other than `self` is still reachable
/// (otherwise there is nobody left to learn about).
bool unsettled(const monitor_ring& ring,
               const std::set<std::string>& unreachable,
               const std::string& self);

struct downing_settings {
  /// How long the set of unreachable members must stay the same before
  /// this node acts on it (the losses of one partition reach a node over
  /// a few gossip rounds).
  std::chrono::milliseconds stable_after{400};
  /// The same when the view is `unsettled`: longer than a failure
  /// timeout, two heartbeat intervals and the spread of a change, so that
  /// the claims of each next wave arrive within it.
  std::chrono::milliseconds stable_after_unsettled{3000};
};

struct downing_decision {
  enum kind {
    /// Nothing is unreachable.
    none,
    /// Unreachable members, not yet stable or confirmed: wait.
    wait,
    /// Mark `members` down (possibly none yet: wait for the others).
    down,
    /// This node is on the minority side: it downs itself (fences).
    down_self,
  };
  kind what = none;
  std::vector<member_key> members;
};

/// What a view says about downing, computed once per change of the view
/// (it does not depend on the time): see `decide_downs`.
struct downing_assessment {
  /// Some member is unreachable.
  bool any_unreachable = false;
  /// `unsettled` holds.
  bool unsettled = false;
  /// This side is a minority of the ring's members by `in_minority`
  /// (downing.hpp): the reachable ones live, the unreachable ones lost; a
  /// tie goes to the side holding the smallest name.
  bool minority = false;
  /// The unreachable members (other than `self`) that a quorum (a
  /// majority) of their reachable monitors, on the ring skipping the
  /// unreachable, observes unreachable: one monitor with a bad link, or a
  /// node cut off alone, downs nobody by itself.
  std::vector<member_key> confirmed;
};

/// Assesses view `v` for `self` (the ring `ring` and set `unreachable` are
/// those of `v`, passed so the caller computes them once).
downing_assessment assess(const gossip_view& v, const std::string& self,
                          const monitor_ring& ring,
                          const std::set<std::string>& unreachable);

/// What `self` does, the unreachable set having stayed the same for
/// `stable_for`: wait until it is stable (`downing_settings`), then
/// `down_self` on the minority side, else `down` the confirmed members.
downing_decision decide(const downing_assessment& a,
                        std::chrono::milliseconds stable_for,
                        const downing_settings& cfg);

/// `decide(assess(v, self, ring, unreachable), stable_for, cfg)`.
downing_decision decide_downs(const gossip_view& v, const std::string& self,
                              const monitor_ring& ring,
                              const std::set<std::string>& unreachable,
                              std::chrono::milliseconds stable_for,
                              const downing_settings& cfg);

} // namespace troupe::cluster
