// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "troupe/wire/introspect.pb.h"

namespace troupe::tool {

/// How `render_tree` draws.
struct render_options {
  /// ANSI colours (status, failures, unreachable nodes). The CLI turns them
  /// on when stdout is a terminal, unless `--no-color` or `NO_COLOR`.
  bool color = false;
};

// All renderers are pure: the same snapshot gives the same text. Nodes are
// listed by name; children in the snapshot's order, which is their
// supervisor's start order (the order `rest_for_one` follows), never by
// name. `to_json` keeps the snapshot's order throughout. A last failure is
// shown verbatim as its supervisor worded it ("<cause>: <text>").

/// Draws the cluster's supervision trees like `pstree`, one section per node
/// (unreachable nodes too, with their error). A tree belongs to the node of
/// its root; a child that runs elsewhere is drawn under its supervisor with
/// `@node`, and its own node's section says where it is drawn. NOTE shows
/// a child's cluster-wide name (`name 'bank.account-1'`), then drops and
/// the last failure.
std::string render_tree(const wire::ClusterSnapshot& snap,
                        const render_options& opts = {});

/// A table of the members: status, incarnation, address, uptime, actors.
std::string render_nodes(const wire::ClusterSnapshot& snap, bool color = false);

/// The snapshot for scripts, with stable field names (see the tool's
/// README). Enums are lowercase strings, such as `"up"` and `"running"`.
nlohmann::json to_json(const wire::ClusterSnapshot& snap);

/// A Graphviz digraph: one cluster per node, holding the actors that run
/// there; edges from supervisor to child (across nodes too). Actor ids are
/// `"<node>:<path>"`, where `<node>` lists the actor (its supervisor's).
std::string to_dot(const wire::ClusterSnapshot& snap);

} // namespace troupe::tool
