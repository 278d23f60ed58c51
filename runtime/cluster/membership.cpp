// SPDX-License-Identifier: Apache-2.0
#include "cluster/membership.hpp"

#include <algorithm>

namespace troupe::cluster {

namespace {

bool takes_part(gossip_status x) {
  return x == gossip_status::up || x == gossip_status::leaving;
}

bool gone(gossip_status x) {
  return x == gossip_status::left || x == gossip_status::down ||
         x == gossip_status::removed;
}

uint64_t splitmix(uint64_t& state) {
  auto z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

} // namespace

membership::membership(member_key self, std::string endpoint,
                       membership_settings cfg, time_point now)
    : self_(std::move(self))
    , cfg_(cfg)
    , watch_(cfg.failure_timeout, cfg.stall_limit)
    , ring_({}, cfg.monitors)
    , unreachable_since_(now) {
  member_record me;
  me.name = self_.name;
  me.incarnation = self_.incarnation;
  me.endpoint = std::move(endpoint);
  view_.merge(me);
  changed_.insert(self_.name);
}

bool membership::apply(const member_record& x) {
  auto old = view_.find(x.name);
  bool was_on_ring = old && takes_part(old->status);
  auto was = old ? old->incarnation : 0;
  if (!view_.merge(x))
    return false;
  auto r = view_.find(x.name);
  if (!old || was != r->incarnation || was_on_ring != takes_part(r->status))
    ring_dirty_ = true;
  dirty_ = true;
  assess_dirty_ = true;
  changed_.insert(x.name);
  touched_.insert(x.name);
  return true;
}

std::vector<member_record> membership::take_changes() {
  std::vector<member_record> result;
  for (auto& name : changed_)
    if (auto r = view_.find(name))
      result.push_back(*r);
  changed_.clear();
  return result;
}

bool membership::merge(const std::vector<member_record>& xs, time_point) {
  bool changed = false;
  for (auto& x : xs) {
    auto d = dropped_.find(x.name);
    if (d == dropped_.end() || x.incarnation > d->second.first)
      changed |= apply(x);
  }
  return changed;
}

void membership::heard(const member_key& from, time_point at) {
  watch_.heard(from, at);
}

void membership::leave(bool done) {
  member_record me;
  me.name = self_.name;
  me.incarnation = self_.incarnation;
  me.status = done ? gossip_status::left : gossip_status::leaving;
  apply(me);
}

void membership::post(const member_key& subject, bool unreachable) {
  member_record r;
  r.name = subject.name;
  r.incarnation = subject.incarnation;
  r.observations.emplace(self_.name,
                         observation{unreachable, self_.incarnation, ++seq_});
  if (unreachable)
    claimed_.insert(subject.name);
  else
    claimed_.erase(subject.name);
  apply(r);
}

void membership::refresh(time_point now) {
  if (!dirty_)
    return;
  dirty_ = false;
  // Most changes are observations of a few members: the ring and the
  // unreachable set are recomputed whole only when the ring's members
  // changed (an observer's status counts for every record it observed).
  bool rewatch = ring_dirty_;
  auto u = unreachable_;
  if (ring_dirty_) {
    ring_dirty_ = false;
    ring_ = monitor_ring(ring_members(view_), cfg_.monitors);
    u = unreachable_members(view_);
  } else {
    for (auto& name : touched_) {
      auto r = view_.find(name);
      if (r && is_unreachable(view_, *r))
        u.insert(name);
      else
        u.erase(name);
    }
  }
  if (u != unreachable_) {
    unreachable_ = std::move(u);
    unreachable_since_ = now;
    rewatch = true;
  }
  if (rewatch)
    watch_.watch(ring_.watched_by(self_.name, unreachable_), now);
  // The local clocks of the gone members start.
  for (auto& name : touched_) {
    auto r = view_.find(name);
    auto g = gone_.find(name);
    if (!r || !gone(r->status)) {
      if (g != gone_.end())
        gone_.erase(g);
    } else if (g == gone_.end() || g->second.first != r->status) {
      gone_[name] = {r->status, now};
    }
  }
  touched_.clear();
  // Claims of members this node no longer watches are taken back.
  auto watched = watch_.subjects();
  std::vector<member_key> retract;
  for (auto& name : claimed_) {
    auto r = view_.find(name);
    if (r &&
        std::find(watched.begin(), watched.end(), r->key()) == watched.end())
      retract.push_back(r->key());
  }
  for (auto& x : retract)
    post(x, false);
  if (dirty_)
    refresh(now);
}

void membership::forget(time_point now) {
  std::vector<std::string> erase;
  for (auto& [name, g] : gone_) {
    auto r = view_.find(name);
    if (g.first == gossip_status::removed) {
      if (now - g.second >= cfg_.tombstone_ttl)
        erase.push_back(name);
    } else if (now - g.second >= cfg_.forget_after && name != self_.name) {
      member_record t;
      t.name = name;
      t.incarnation = r->incarnation;
      t.status = gossip_status::removed;
      apply(t);
    }
  }
  for (auto& name : erase) {
    dropped_[name] = {view_.find(name)->incarnation, now};
    view_.erase(name);
    gone_.erase(name);
    changed_.erase(name);
    claimed_.erase(name);
    dirty_ = true;
    ring_dirty_ = true;
    assess_dirty_ = true;
  }
  for (auto i = dropped_.begin(); i != dropped_.end();)
    i = now - i->second.second >= cfg_.tombstone_ttl ? dropped_.erase(i)
                                                     : std::next(i);
}

tick_result membership::tick(time_point now) {
  tick_result result;
  refresh(now);
  for (auto& v : watch_.judge(now)) {
    auto r = view_.find(v.subject.name);
    if (!r || r->incarnation != v.subject.incarnation)
      continue;
    auto o = r->observations.find(self_.name);
    bool claimed = o != r->observations.end() && o->second.unreachable &&
                   o->second.observer_incarnation == self_.incarnation;
    if (claimed == v.reachable)
      post(v.subject, !v.reachable);
  }
  forget(now);
  refresh(now);
  auto me = view_.find(self_.name);
  if (!me || me->incarnation != self_.incarnation ||
      me->status == gossip_status::down ||
      me->status == gossip_status::removed) {
    result.fenced = true;
    return result;
  }
  auto stable = std::chrono::duration_cast<std::chrono::milliseconds>(
      now - unreachable_since_);
  // Assessed only when a decision may be due: while the unreachable set
  // keeps changing, nothing is decided anyway.
  downing_decision d;
  if (!unreachable_.empty() &&
      stable >= std::min(cfg_.downing.stable_after,
                         cfg_.downing.stable_after_unsettled)) {
    if (assess_dirty_) {
      assessment_ = assess(view_, self_.name, ring_, unreachable_);
      assess_dirty_ = false;
    }
    d = decide(assessment_, stable, cfg_.downing);
  }
  if (d.what == downing_decision::down_self) {
    result.fenced = true;
    return result;
  }
  for (auto& m : d.members) {
    member_record r;
    r.name = m.name;
    r.incarnation = m.incarnation;
    r.status = gossip_status::down;
    if (apply(r))
      result.downed.push_back(m);
  }
  refresh(now);
  result.heartbeat_to = watch_.subjects();
  return result;
}

std::vector<member_key> membership::gossip_partners(size_t n,
                                                    uint64_t random) const {
  // Distinct random positions on the ring other than this node's, drawn
  // without listing the ring (this runs every gossip round).
  auto& ms = ring_.members();
  auto me = ring_.position(self_.name);
  auto others = ms.size() - (me < ms.size() ? 1 : 0);
  std::vector<member_key> result;
  std::vector<size_t> taken;
  n = std::min(n, others);
  while (result.size() < n) {
    auto j = splitmix(random) % others;
    if (me < ms.size() && j >= me)
      ++j;
    if (std::find(taken.begin(), taken.end(), j) != taken.end())
      continue;
    taken.push_back(j);
    result.push_back(ms[j]);
  }
  return result;
}

} // namespace troupe::cluster
