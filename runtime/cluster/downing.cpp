// SPDX-License-Identifier: Apache-2.0
#include "cluster/downing.hpp"

#include <algorithm>

namespace troupe::cluster {

bool in_minority(const std::string& self_name,
                 const std::vector<quorum_entry>& others,
                 std::chrono::steady_clock::time_point now,
                 std::chrono::steady_clock::duration failure_timeout) {
  auto window = now - failure_timeout;
  size_t alive = 1;
  size_t known = 1;
  auto smallest_alive = self_name;
  auto smallest_known = self_name;
  for (auto& m : others) {
    if (m.live) {
      ++alive;
      ++known;
      smallest_alive = std::min(smallest_alive, m.name);
      smallest_known = std::min(smallest_known, m.name);
    } else if (m.unreachable && m.down_at >= window) {
      ++known;
      smallest_known = std::min(smallest_known, m.name);
    }
  }
  if (2 * alive != known)
    return 2 * alive < known;
  return smallest_alive != smallest_known;
}

} // namespace troupe::cluster
