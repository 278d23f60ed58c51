// SPDX-License-Identifier: Apache-2.0
#include "forest.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace troupe::tool::detail {

namespace {

// Picks the supervisor of `child` among the actors at its parent path.
size_t pick_parent(const forest& f, size_t child,
                   const std::vector<size_t>& candidates) {
  auto& c = f.actors[child];
  auto best = none;
  auto rank = [&](size_t i) {
    auto& x = f.actors[i];
    if (x.listed_in == c.listed_in)
      return 0;
    return x.node == c.node ? 1 : 2;
  };
  for (auto i : candidates) {
    if (i == child)
      continue;
    if (best == none || rank(i) < rank(best) ||
        (rank(i) == rank(best) && f.actors[i].node < f.actors[best].node))
      best = i;
  }
  return best;
}

} // namespace

forest build_forest(const wire::ClusterSnapshot& snap) {
  forest f;
  f.roots.resize(static_cast<size_t>(snap.nodes_size()));
  std::unordered_map<std::string, int> section_of_node;
  for (int i = 0; i < snap.nodes_size(); ++i) {
    auto& ns = snap.nodes(i);
    section_of_node.emplace(ns.member().name(), i);
    for (auto& a : ns.actors()) {
      actor_entry e;
      e.info = &a;
      e.node = a.node().empty() ? ns.member().name() : a.node();
      e.listed_in = i;
      e.listed_by = ns.member().name();
      f.actors.push_back(std::move(e));
    }
  }
  std::map<std::string, std::vector<size_t>> by_path;
  for (size_t i = 0; i < f.actors.size(); ++i)
    by_path[f.actors[i].info->path()].push_back(i);
  for (size_t i = 0; i < f.actors.size(); ++i) {
    auto& parent = f.actors[i].info->parent();
    if (parent.empty())
      continue;
    auto it = by_path.find(parent);
    auto p = it == by_path.end() ? none : pick_parent(f, i, it->second);
    if (p == none)
      f.actors[i].orphan = true;
    else
      f.actors[i].parent = p;
  }
  // A loop of parents (a broken snapshot) must not hide actors nor recurse
  // forever: walk down from the roots, then cut each loop at an actor that
  // was not reached.
  auto by_path_order = [&](size_t a, size_t b) {
    auto& x = f.actors[a];
    auto& y = f.actors[b];
    if (x.info->path() != y.info->path())
      return x.info->path() < y.info->path();
    return x.node < y.node;
  };
  std::vector<size_t> order(f.actors.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(), by_path_order);
  // Children in the snapshot's order: a supervisor lists them in start
  // order (which rest_for_one follows), not by name.
  for (size_t i = 0; i < f.actors.size(); ++i)
    if (auto p = f.actors[i].parent; p != none)
      f.actors[p].children.push_back(i);
  std::vector<bool> reached(f.actors.size(), false);
  auto reach = [&](size_t root) {
    std::vector<size_t> todo{root};
    while (!todo.empty()) {
      auto i = todo.back();
      todo.pop_back();
      reached[i] = true;
      for (auto c : f.actors[i].children)
        if (!reached[c])
          todo.push_back(c);
    }
  };
  for (auto i : order)
    if (f.actors[i].parent == none)
      reach(i);
  for (auto i : order) {
    if (reached[i])
      continue;
    auto& siblings = f.actors[f.actors[i].parent].children;
    siblings.erase(std::find(siblings.begin(), siblings.end(), i));
    f.actors[i].parent = none;
    f.actors[i].orphan = true;
    reach(i);
  }
  // A tree belongs to the node of its root (or to the listing node when
  // that node is not in the snapshot).
  for (auto i : order) {
    auto& e = f.actors[i];
    if (e.parent != none)
      continue;
    auto it = section_of_node.find(e.node);
    auto section = it == section_of_node.end() ? e.listed_in : it->second;
    f.roots[static_cast<size_t>(section)].push_back(i);
    std::vector<size_t> todo{i};
    while (!todo.empty()) {
      auto j = todo.back();
      todo.pop_back();
      f.actors[j].section = section;
      for (auto c : f.actors[j].children)
        todo.push_back(c);
    }
  }
  return f;
}

} // namespace troupe::tool::detail
