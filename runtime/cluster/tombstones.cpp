// SPDX-License-Identifier: Apache-2.0
// Forgetting members and their tombstones.
#include "cluster/tombstones.hpp"

#include <algorithm>

namespace troupe::cluster {

std::chrono::milliseconds
forget_delay(const failure_detector_settings& fd) noexcept {
  return std::max(fd.forget_after, 2 * fd.failure_timeout);
}

bool forget_now(member_status status, steady_time since, steady_time now,
                std::chrono::milliseconds delay) noexcept {
  if (status != member_status::left && status != member_status::down)
    return false;
  return now - since >= delay;
}

void tombstones::add(const std::string& name, tombstone x) {
  auto i = xs_.find(name);
  if (i == xs_.end() || i->second.incarnation <= x.incarnation)
    xs_[name] = std::move(x);
}

const tombstone* tombstones::find(const std::string& name) const {
  auto i = xs_.find(name);
  return i == xs_.end() ? nullptr : &i->second;
}

void tombstones::erase(const std::string& name) {
  xs_.erase(name);
}

size_t tombstones::expire(steady_time now, std::chrono::milliseconds ttl,
                          size_t max) {
  size_t n = 0;
  for (auto i = xs_.begin(); i != xs_.end();) {
    if (now - i->second.since >= ttl) {
      i = xs_.erase(i);
      ++n;
    } else {
      ++i;
    }
  }
  while (xs_.size() > max) {
    auto oldest = std::min_element(xs_.begin(), xs_.end(),
                                   [](auto& a, auto& b) {
                                     return a.second.since < b.second.since;
                                   });
    xs_.erase(oldest);
    ++n;
  }
  return n;
}

void tombstones::void_judgements() {
  for (auto& kvp : xs_)
    kvp.second.by_own_fence = true;
}

std::vector<caf::node_id> tombstones::nids() const {
  std::vector<caf::node_id> result;
  for (auto& kvp : xs_)
    if (kvp.second.nid)
      result.emplace_back(kvp.second.nid);
  return result;
}

} // namespace troupe::cluster
