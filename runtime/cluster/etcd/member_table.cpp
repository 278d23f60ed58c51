// SPDX-License-Identifier: Apache-2.0
// Views of the members and the events between them.
#include "cluster/etcd/member_table.hpp"

namespace troupe::cluster::etcd {

void member_table::change(const std::optional<member_record>& before,
                          const std::optional<member_record>& after,
                          std::vector<member_event>& out) {
  if (before && after && before->incarnation == after->incarnation) {
    if (*before != *after)
      out.push_back({member_event::updated, *after});
    return;
  }
  if (before)
    out.push_back({member_event::left, *before});
  if (after)
    out.push_back({member_event::joined, *after});
}

std::vector<member_event>
member_table::reset(const std::vector<member_record>& listing) {
  std::map<std::string, member_record> next;
  for (auto& x : listing)
    next.insert_or_assign(x.name, x);
  std::vector<member_event> out;
  // Both maps are sorted by name: walk them side by side.
  auto i = members_.begin();
  auto j = next.begin();
  while (i != members_.end() || j != next.end()) {
    if (j == next.end() || (i != members_.end() && i->first < j->first)) {
      change(i->second, std::nullopt, out);
      ++i;
    } else if (i == members_.end() || j->first < i->first) {
      change(std::nullopt, j->second, out);
      ++j;
    } else {
      change(i->second, j->second, out);
      ++i;
      ++j;
    }
  }
  members_ = std::move(next);
  return out;
}

std::vector<member_event> member_table::put(const member_record& x) {
  std::vector<member_event> out;
  auto i = members_.find(x.name);
  if (i == members_.end()) {
    change(std::nullopt, x, out);
    members_.emplace(x.name, x);
  } else {
    change(i->second, x, out);
    i->second = x;
  }
  return out;
}

std::vector<member_event> member_table::remove(const std::string& name) {
  std::vector<member_event> out;
  if (auto i = members_.find(name); i != members_.end()) {
    change(i->second, std::nullopt, out);
    members_.erase(i);
  }
  return out;
}

std::vector<member_record> member_table::members() const {
  std::vector<member_record> out;
  out.reserve(members_.size());
  for (auto& [name, x] : members_)
    out.push_back(x);
  return out;
}

} // namespace troupe::cluster::etcd
