// SPDX-License-Identifier: Apache-2.0
#include "cluster/name_table.hpp"

#include <mutex>

namespace troupe::cluster {

caf::actor name_table::whereis(const std::string& name) const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  auto i = names_.find(name);
  return i != names_.end() ? i->second.hdl : caf::actor{};
}

std::optional<name_entry> name_table::entry(const std::string& name) const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  auto i = names_.find(name);
  if (i == names_.end())
    return std::nullopt;
  return i->second;
}

std::unordered_map<std::string, name_entry> name_table::all() const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  return names_;
}

std::optional<name_entry> name_table::put(const std::string& name,
                                          name_entry x, bool& installed) {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  auto i = names_.find(name);
  if (i == names_.end()) {
    names_.emplace(name, std::move(x));
    installed = true;
    return std::nullopt;
  }
  if (i->second.hdl == x.hdl) {
    // The same actor announced again (a rejoin): keep the later stamp.
    installed = false;
    if (wins(x, i->second))
      i->second = std::move(x);
    return std::nullopt;
  }
  if (wins(x, i->second)) {
    auto loser = std::move(i->second);
    i->second = std::move(x);
    installed = true;
    return loser;
  }
  installed = false;
  return x;
}

bool name_table::drop(const std::string& name, const caf::actor_addr& hdl) {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  auto i = names_.find(name);
  if (i == names_.end() || (hdl && i->second.hdl.address() != hdl))
    return false;
  names_.erase(i);
  return true;
}

std::vector<std::string> name_table::drop_owned_by(const std::string& owner) {
  std::vector<std::string> result;
  std::unique_lock<std::shared_mutex> guard{mtx_};
  for (auto i = names_.begin(); i != names_.end();) {
    if (i->second.owner == owner) {
      result.emplace_back(i->first);
      i = names_.erase(i);
    } else {
      ++i;
    }
  }
  return result;
}

void name_table::reown(const std::string& owner, uint64_t incarnation) {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  for (auto& kvp : names_)
    if (kvp.second.owner == owner)
      kvp.second.owner_incarnation = incarnation;
}

void name_table::clear() {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  names_.clear();
}

} // namespace troupe::cluster
