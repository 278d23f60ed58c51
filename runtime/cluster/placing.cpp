// SPDX-License-Identifier: Apache-2.0
#include "cluster/placing.hpp"

#include <algorithm>
#include <utility>

namespace troupe::cluster {

std::string choose_host(const std::string& type, placement how,
                        const host_offer& self,
                        const std::vector<host_offer>& others,
                        const std::vector<std::string>& excluded,
                        uint64_t& turn) {
  auto ok = [&](const host_offer& x) {
    return std::find(excluded.begin(), excluded.end(), x.name)
             == excluded.end()
           && std::find(x.actor_types.begin(), x.actor_types.end(), type)
                != x.actor_types.end();
  };
  bool here = ok(self);
  if (how == placement::local)
    return here ? self.name : std::string{};
  std::vector<std::pair<std::string, uint32_t>> candidates;
  if (here && how != placement::spread)
    candidates.emplace_back(self.name, self.load);
  for (auto& x : others)
    if (ok(x))
      candidates.emplace_back(x.name, x.load);
  if (candidates.empty() && here)
    candidates.emplace_back(self.name, self.load);
  if (candidates.empty())
    return {};
  std::sort(candidates.begin(), candidates.end());
  if (how == placement::least_loaded)
    return std::min_element(candidates.begin(), candidates.end(),
                            [](auto& a, auto& b) { return a.second < b.second; })
      ->first;
  return candidates[turn++ % candidates.size()].first;
}

} // namespace troupe::cluster
