// SPDX-License-Identifier: Apache-2.0
#include "cluster/actor_types.hpp"

#include <algorithm>

namespace troupe::cluster {

void actor_types::add(std::string type, actor_factory f) {
  std::lock_guard<std::mutex> guard{mtx_};
  factories_[std::move(type)] = std::move(f);
}

actor_factory actor_types::find(const std::string& type) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = factories_.find(type);
  return i != factories_.end() ? i->second : actor_factory{};
}

std::vector<std::string> actor_types::names() const {
  std::vector<std::string> result;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& kvp : factories_)
      result.emplace_back(kvp.first);
  }
  std::sort(result.begin(), result.end());
  return result;
}

} // namespace troupe::cluster
