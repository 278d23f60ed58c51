// SPDX-License-Identifier: Apache-2.0
#include "troupe/tool/render.hpp"

#include "forest.hpp"
#include "format.hpp"

#include <fmt/format.h>

#include <string>
#include <vector>

namespace troupe::tool {

namespace {

// A DOT string literal: quotes and backslashes escaped, one line.
std::string quote(const std::string& text) {
  std::string out = "\"";
  for (auto ch : detail::one_line(text)) {
    if (ch == '"' || ch == '\\')
      out += '\\';
    out += ch;
  }
  out += '"';
  return out;
}

// Several lines of a label (DOT's `\n` inside one quoted string).
std::string label(const std::vector<std::string>& lines) {
  std::string out;
  for (auto& line : lines) {
    auto q = quote(line);
    if (!out.empty())
      out += "\\n";
    out += q.substr(1, q.size() - 2);
  }
  return "\"" + out + "\"";
}

// Paths are unique per node (every node has its "/root"): the node whose
// snapshot lists the actor, where its supervisor is, qualifies it.
std::string actor_id(const detail::actor_entry& e) {
  return quote(e.listed_by + ":" + e.info->path());
}

} // namespace

std::string to_dot(const wire::ClusterSnapshot& snap) {
  auto f = detail::build_forest(snap);
  std::string out = "digraph troupe {\n"
                    "  node [shape=box, fontname=\"monospace\"];\n";
  // Each actor sits in the cluster of the node it runs on; one that runs on
  // a node missing from the snapshot stays with the node that listed it.
  std::vector<std::vector<size_t>> members(f.roots.size());
  for (size_t i = 0; i < f.actors.size(); ++i) {
    auto& e = f.actors[i];
    auto home = e.listed_in;
    for (int k = 0; k < snap.nodes_size(); ++k)
      if (snap.nodes(k).member().name() == e.node)
        home = k;
    members[static_cast<size_t>(home)].push_back(i);
  }
  // Within a cluster, actors keep the snapshot's order (a supervisor's
  // children in start order), which is also the order dot lays them out in.
  for (auto k : detail::nodes_by_name(snap)) {
    auto& ns = snap.nodes(k);
    auto& m = ns.member();
    std::vector<std::string> heading{
        fmt::format("{} ({}, incarnation {})", m.name(),
                    detail::name_of(m.status()), m.incarnation())};
    if (!ns.reachable())
      heading.push_back("unreachable: " + ns.error());
    out += fmt::format("  subgraph {} {{\n    label={};\n",
                       quote("cluster_" + m.name()), label(heading));
    if (!ns.reachable())
      out += "    style=dashed;\n    color=red;\n";
    auto& mine = members[static_cast<size_t>(k)];
    // An empty cluster is not drawn: give an unreachable node a stand-in.
    if (mine.empty())
      out += fmt::format("    {} [label={}, shape=plaintext];\n",
                         quote("node:" + m.name()),
                         quote(ns.reachable() ? "no actors" : "unreachable"));
    for (auto i : mine) {
      auto& e = f.actors[i];
      auto& a = *e.info;
      std::vector<std::string> lines{
          e.parent == detail::none ? a.path() : detail::last_segment(a.path()),
          detail::name_of(a.kind()) + " " + a.type(),
          detail::name_of(a.status())};
      if (a.restarts() > 0)
        lines.back() += fmt::format(", {} restart{}", a.restarts(),
                                    a.restarts() == 1 ? "" : "s");
      if (auto name = detail::global_name_note(a); !name.empty())
        lines.push_back(std::move(name));
      std::string attrs = "label=" + label(lines);
      if (a.kind() != wire::ActorInfo::SUPERVISOR)
        attrs += ", shape=ellipse";
      switch (a.status()) {
      case wire::ActorInfo::RUNNING:
        break;
      case wire::ActorInfo::RESTARTING:
        attrs += ", color=orange";
        break;
      case wire::ActorInfo::STOPPED:
        attrs += ", color=gray, fontcolor=gray";
        break;
      default:
        attrs += ", color=red, style=dashed";
      }
      if (auto failure = detail::last_failure_note(a); !failure.empty())
        attrs += ", tooltip=" + quote(failure);
      out += fmt::format("    {} [{}];\n", actor_id(e), attrs);
    }
    out += "  }\n";
  }
  // Edges in tree order, after the clusters, so that a child on another
  // node stays in its own node's cluster.
  for (auto k : detail::nodes_by_name(snap)) {
    std::vector<size_t> todo(f.roots[static_cast<size_t>(k)].rbegin(),
                             f.roots[static_cast<size_t>(k)].rend());
    while (!todo.empty()) {
      auto i = todo.back();
      todo.pop_back();
      auto& children = f.actors[i].children;
      for (auto c : children)
        out += fmt::format("  {} -> {};\n", actor_id(f.actors[i]),
                           actor_id(f.actors[c]));
      todo.insert(todo.end(), children.rbegin(), children.rend());
    }
  }
  out += "}\n";
  return out;
}

} // namespace troupe::tool
