// SPDX-License-Identifier: Apache-2.0
#pragma once

// The supervision forest of a snapshot, shared by the tree and DOT renderers
// (private to the tool).

#include <cstddef>
#include <string>
#include <vector>

#include "troupe/wire/introspect.pb.h"

namespace troupe::tool::detail {

/// Sentinel for "no index".
constexpr size_t none = static_cast<size_t>(-1);

/// One actor of the snapshot and its place in the forest.
struct actor_entry {
  const wire::ActorInfo* info = nullptr;
  /// Where it runs: `info->node()`, or the node whose snapshot listed it.
  std::string node;
  /// Index of the `NodeSnapshot` that listed it, and that node's name: a
  /// node lists its trees, remote children included, so its name and the
  /// path identify the actor.
  int listed_in = 0;
  std::string listed_by;
  /// Index of its supervisor in `forest::actors`, or `none`.
  size_t parent = none;
  /// Its children, in the snapshot's order: their supervisor's start order.
  std::vector<size_t> children;
  /// Whose section draws its tree: the node of its root (index into
  /// `snap.nodes()`).
  int section = 0;
  /// It names a supervisor that is not in the snapshot (or is its own
  /// ancestor), so it is drawn as a root.
  bool orphan = false;
};

/// All actors of a snapshot, linked to their supervisors.
struct forest {
  std::vector<actor_entry> actors;
  /// Per `NodeSnapshot` index: the roots whose tree it draws, in path order.
  std::vector<std::vector<size_t>> roots;
};

/// Links every actor to its supervisor. Paths are unique per node, not
/// across the cluster, and `parent` holds only a path: a supervisor is
/// looked for first among the actors of the same listing, then on the
/// child's node, then anywhere (first node by name).
forest build_forest(const wire::ClusterSnapshot& snap);

} // namespace troupe::tool::detail
