// SPDX-License-Identifier: Apache-2.0
#include "cluster/monitor_ring.hpp"

#include <algorithm>
#include <tuple>

namespace troupe::cluster {

uint64_t ring_position(const std::string& name, uint64_t incarnation) noexcept {
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](uint8_t byte) {
    h ^= byte;
    h *= 0x100000001b3ull;
  };
  for (char c : name)
    mix(static_cast<uint8_t>(c));
  mix(0);
  for (int i = 0; i < 8; ++i)
    mix(static_cast<uint8_t>(incarnation >> (8 * i)));
  // splitmix64's finalizer: FNV's low bits alone spread short names poorly.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

monitor_ring::monitor_ring(std::vector<member_key> members, size_t k)
    : ring_(std::move(members))
    , k_(k) {
  std::vector<std::pair<uint64_t, size_t>> order;
  order.reserve(ring_.size());
  for (size_t i = 0; i < ring_.size(); ++i)
    order.emplace_back(ring_position(ring_[i].name, ring_[i].incarnation), i);
  std::sort(order.begin(), order.end(), [this](auto& x, auto& y) {
    return std::tie(x.first, ring_[x.second]) <
           std::tie(y.first, ring_[y.second]);
  });
  std::vector<member_key> sorted;
  sorted.reserve(ring_.size());
  for (auto& [pos, i] : order)
    sorted.emplace_back(std::move(ring_[i]));
  ring_ = std::move(sorted);
  for (size_t i = 0; i < ring_.size(); ++i)
    index_.emplace(ring_[i].name, i);
}

std::vector<bool> monitor_ring::mask(const std::set<std::string>& names) const {
  std::vector<bool> result(ring_.size(), false);
  for (auto& name : names)
    if (auto i = index_.find(name); i != index_.end())
      result[i->second] = true;
  return result;
}

size_t monitor_ring::position(const std::string& name) const {
  auto i = index_.find(name);
  return i != index_.end() ? i->second : ring_.size();
}

std::vector<member_key>
monitor_ring::watched_by(const std::string& observer,
                         const std::set<std::string>& unreachable) const {
  auto i = position(observer);
  if (i == ring_.size())
    return {};
  return watched_by(i, mask(unreachable));
}

std::vector<member_key>
monitor_ring::monitors_of(const std::string& subject,
                          const std::set<std::string>& unreachable) const {
  auto i = position(subject);
  if (i == ring_.size())
    return {};
  return monitors_of(i, mask(unreachable));
}

std::vector<member_key>
monitor_ring::watched_by(size_t i, const std::vector<bool>& skip) const {
  std::vector<member_key> result;
  auto n = ring_.size();
  size_t taken = 0;
  for (size_t step = 1; step < n && taken < k_; ++step) {
    auto j = (i + step) % n;
    result.push_back(ring_[j]);
    if (!skip[j])
      ++taken;
  }
  return result;
}

std::vector<member_key>
monitor_ring::monitors_of(size_t i, const std::vector<bool>& skip) const {
  std::vector<member_key> result;
  auto n = ring_.size();
  // `between`: reachable members strictly between the candidate and the
  // subject; the candidate's own walk reaches the subject while it is < k.
  size_t between = 0;
  for (size_t step = 1; step < n && between < k_; ++step) {
    auto j = (i + n - step) % n;
    result.push_back(ring_[j]);
    if (!skip[j])
      ++between;
  }
  return result;
}

} // namespace troupe::cluster
