// SPDX-License-Identifier: Apache-2.0
#include "cluster/gossip_downing.hpp"

#include <algorithm>

#include "cluster/downing.hpp"

namespace troupe::cluster {

namespace {

bool takes_part(gossip_status x) {
  return x == gossip_status::up || x == gossip_status::leaving;
}

} // namespace

std::vector<member_key> ring_members(const gossip_view& v) {
  std::vector<member_key> result;
  for (auto& [name, r] : v.records())
    if (takes_part(r.status))
      result.push_back(r.key());
  return result;
}

bool is_unreachable(const gossip_view& v, const member_record& r) {
  if (!takes_part(r.status))
    return false;
  for (auto& [observer, o] : r.observations) {
    if (!o.unreachable || observer == r.name)
      continue;
    auto obs = v.find(observer);
    if (obs && takes_part(obs->status) &&
        obs->incarnation == o.observer_incarnation)
      return true;
  }
  return false;
}

std::set<std::string> unreachable_members(const gossip_view& v) {
  std::set<std::string> result;
  for (auto& [name, r] : v.records())
    if (is_unreachable(v, r))
      result.insert(name);
  return result;
}

bool unsettled(const monitor_ring& ring,
               const std::set<std::string>& unreachable,
               const std::string& self) {
  auto n = ring.members().size();
  if (n == 0 || unreachable.size() < std::min(ring.k(), n - 1))
    return false;
  for (auto& m : ring.members())
    if (m.name != self && unreachable.count(m.name) == 0)
      return true;
  return false;
}

downing_assessment assess(const gossip_view& v, const std::string& self,
                          const monitor_ring& ring,
                          const std::set<std::string>& unreachable) {
  downing_assessment result;
  if (unreachable.empty())
    return result;
  result.any_unreachable = true;
  auto lost = ring.mask(unreachable);
  result.unsettled = unsettled(ring, unreachable, self);
  // Keep-majority over the ring's members, all losses counted as recent.
  std::chrono::steady_clock::time_point t{};
  std::vector<quorum_entry> others;
  auto& ms = ring.members();
  for (size_t i = 0; i < ms.size(); ++i)
    if (ms[i].name != self)
      others.push_back({ms[i].name, !lost[i], lost[i], t});
  result.minority = in_minority(self, others, t, std::chrono::milliseconds{0});
  for (size_t i = 0; i < ms.size(); ++i) {
    if (!lost[i] || ms[i].name == self)
      continue; // what others think of this node is theirs to act on
    auto r = v.find(ms[i].name);
    size_t monitors = 0;
    size_t claims = 0;
    for (auto& m : ring.monitors_of(i, lost)) {
      if (lost[ring.position(m.name)])
        continue;
      ++monitors;
      auto o = r->observations.find(m.name);
      if (o != r->observations.end() && o->second.unreachable &&
          o->second.observer_incarnation == m.incarnation)
        ++claims;
    }
    if (monitors > 0 && claims >= monitors / 2 + 1)
      result.confirmed.push_back(r->key());
  }
  return result;
}

downing_decision decide(const downing_assessment& a,
                        std::chrono::milliseconds stable_for,
                        const downing_settings& cfg) {
  downing_decision result;
  if (!a.any_unreachable)
    return result;
  result.what = downing_decision::wait;
  if (stable_for <
      (a.unsettled ? cfg.stable_after_unsettled : cfg.stable_after))
    return result;
  if (a.minority) {
    result.what = downing_decision::down_self;
    return result;
  }
  result.what = downing_decision::down;
  result.members = a.confirmed;
  return result;
}

downing_decision decide_downs(const gossip_view& v, const std::string& self,
                              const monitor_ring& ring,
                              const std::set<std::string>& unreachable,
                              std::chrono::milliseconds stable_for,
                              const downing_settings& cfg) {
  return decide(assess(v, self, ring, unreachable), stable_for, cfg);
}

} // namespace troupe::cluster
