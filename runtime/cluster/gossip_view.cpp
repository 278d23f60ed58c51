// SPDX-License-Identifier: Apache-2.0
#include "cluster/gossip_view.hpp"

#include <algorithm>
#include <tuple>

namespace troupe::cluster {

namespace {

struct fnv {
  uint64_t h = 0xcbf29ce484222325ull;

  void byte(uint8_t x) {
    h ^= x;
    h *= 0x100000001b3ull;
  }

  void u64(uint64_t x) {
    for (int i = 0; i < 8; ++i)
      byte(static_cast<uint8_t>(x >> (8 * i)));
  }

  void str(const std::string& x) {
    u64(x.size());
    for (char c : x)
      byte(static_cast<uint8_t>(c));
  }

  uint64_t done() const {
    auto x = h;
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  }
};

/// The later of two observations by one observer. Equal versions with
/// different content (which one writer never makes) still join the same
/// way in any order: unreachable wins.
const observation& later(const observation& x, const observation& y) {
  return std::tie(x.observer_incarnation, x.seq, x.unreachable) <
                 std::tie(y.observer_incarnation, y.seq, y.unreachable)
             ? y
             : x;
}

/// Whether joining `y` into `x` leaves `x` as it is (the common case of
/// gossip that brings nothing new), decided without building the join.
bool covers(const member_record& x, const member_record& y) {
  if (x.incarnation != y.incarnation)
    return x.incarnation > y.incarnation;
  if (y.status > x.status || y.endpoint > x.endpoint)
    return false;
  if (x.status == gossip_status::removed)
    return true;
  for (auto& [observer, o] : y.observations) {
    auto i = x.observations.find(observer);
    if (i == x.observations.end() || !(later(i->second, o) == i->second))
      return false;
  }
  return true;
}

} // namespace

const char* to_string(gossip_status x) noexcept {
  switch (x) {
  case gossip_status::up:
    return "up";
  case gossip_status::leaving:
    return "leaving";
  case gossip_status::left:
    return "left";
  case gossip_status::down:
    return "down";
  case gossip_status::removed:
    return "removed";
  }
  return "?";
}

bool operator==(const observation& x, const observation& y) noexcept {
  return x.unreachable == y.unreachable &&
         x.observer_incarnation == y.observer_incarnation && x.seq == y.seq;
}

bool operator==(const member_record& x, const member_record& y) noexcept {
  return x.name == y.name && x.incarnation == y.incarnation &&
         x.status == y.status && x.endpoint == y.endpoint &&
         x.observations == y.observations;
}

member_record join(const member_record& x, const member_record& y) {
  if (x.incarnation != y.incarnation)
    return x.incarnation > y.incarnation ? x : y;
  member_record r;
  r.name = x.name;
  r.incarnation = x.incarnation;
  r.status = std::max(x.status, y.status);
  // One incarnation has one endpoint; the max only keeps the join lawful.
  r.endpoint = std::max(x.endpoint, y.endpoint);
  if (r.status == gossip_status::removed)
    return r;
  r.observations = x.observations;
  for (auto& [observer, o] : y.observations) {
    auto [i, added] = r.observations.emplace(observer, o);
    if (!added)
      i->second = later(i->second, o);
  }
  return r;
}

uint64_t digest(const member_record& x) noexcept {
  fnv f;
  f.str(x.name);
  f.u64(x.incarnation);
  f.byte(static_cast<uint8_t>(x.status));
  f.str(x.endpoint);
  for (auto& [observer, o] : x.observations) {
    f.str(observer);
    f.byte(o.unreachable ? 1 : 0);
    f.u64(o.observer_incarnation);
    f.u64(o.seq);
  }
  return f.done();
}

bool gossip_view::merge(const member_record& x) {
  auto i = records_.find(x.name);
  if (i == records_.end()) {
    // A tombstone's content is its name and incarnation only.
    auto r = x.status == gossip_status::removed ? join(x, x) : x;
    auto d = cluster::digest(r);
    digests_.emplace(x.name, d);
    digest_ += d;
    records_.emplace(x.name, std::move(r));
    return true;
  }
  if (covers(i->second, x))
    return false;
  auto r = join(i->second, x);
  auto d = cluster::digest(r);
  auto& old = digests_[x.name];
  if (d == old && r == i->second)
    return false;
  digest_ += d - old;
  old = d;
  i->second = std::move(r);
  return true;
}

bool gossip_view::merge(const gossip_view& other) {
  bool changed = false;
  for (auto& kvp : other.records_)
    changed |= merge(kvp.second);
  return changed;
}

void gossip_view::erase(const std::string& name) {
  auto i = digests_.find(name);
  if (i == digests_.end())
    return;
  digest_ -= i->second;
  digests_.erase(i);
  records_.erase(name);
}

const member_record* gossip_view::find(const std::string& name) const {
  auto i = records_.find(name);
  return i != records_.end() ? &i->second : nullptr;
}

std::vector<std::pair<std::string, uint64_t>> gossip_view::digests() const {
  return {digests_.begin(), digests_.end()};
}

gossip_delta gossip_view::delta_for(
    const std::vector<std::pair<std::string, uint64_t>>& theirs) const {
  gossip_delta result;
  auto i = digests_.begin();
  auto j = theirs.begin();
  while (i != digests_.end() || j != theirs.end()) {
    if (j == theirs.end() || (i != digests_.end() && i->first < j->first)) {
      result.records.push_back(records_.at(i->first));
      ++i;
    } else if (i == digests_.end() || j->first < i->first) {
      result.wanted.push_back(j->first);
      ++j;
    } else {
      if (i->second != j->second) {
        result.records.push_back(records_.at(i->first));
        result.wanted.push_back(j->first);
      }
      ++i;
      ++j;
    }
  }
  return result;
}

std::vector<member_record>
gossip_view::records_for(const std::vector<std::string>& names) const {
  std::vector<member_record> result;
  for (auto& name : names)
    if (auto r = find(name))
      result.push_back(*r);
  return result;
}

bool operator==(const gossip_view& x, const gossip_view& y) noexcept {
  return x.records() == y.records();
}

} // namespace troupe::cluster
