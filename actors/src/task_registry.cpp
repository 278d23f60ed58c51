// SPDX-License-Identifier: Apache-2.0
#include "troupe/actors/task_registry.hpp"

#include <algorithm>

namespace troupe::actors {

void task_registry::add_entry(const std::string& name, std::string in_type,
                              std::string out_type, wire_fn run) {
  if (name.empty())
    throw std::invalid_argument("a task needs a name");
  auto [it, added] = entries_.emplace(
    name, entry{std::move(in_type), std::move(out_type), std::move(run)});
  if (!added)
    throw std::invalid_argument("task '" + name + "' is registered twice");
}

const task_registry::wire_fn*
task_registry::find(const std::string& name) const {
  auto i = entries_.find(name);
  return i == entries_.end() ? nullptr : &i->second.run;
}

std::vector<std::string> task_registry::names() const {
  std::vector<std::string> result;
  for (auto& kvp : entries_)
    result.push_back(kvp.first);
  std::sort(result.begin(), result.end());
  return result;
}

std::string task_registry::signature(const std::string& name) const {
  auto i = entries_.find(name);
  if (i == entries_.end())
    return {};
  return i->second.in_type + " -> " + i->second.out_type;
}

} // namespace troupe::actors
