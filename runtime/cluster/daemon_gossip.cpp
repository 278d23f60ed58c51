// SPDX-License-Identifier: Apache-2.0
// Gossip detection (`--detection gossip`): the daemon as the owner of a
// `membership` (membership.hpp). Each member is probed by a few monitors
// on a hashed ring, every heartbeat interval, and answers at once from the
// receiving thread (daemon.cpp); the monitors' verdicts and the member
// records spread by a gossip round with one random member per interval
// and by pushing each change to three members at once; a member is marked
// down when a quorum of its monitors agree, and the minority side of a
// partition fences itself (gossip_downing.hpp). What this file adds is the
// I/O: the wire form of the records, the rounds, and turning the view's
// verdicts into the daemon's own (mark_down, fence, dialing members met by
// gossip). Links carry no heartbeats in this mode (node.cpp), so a link
// that drops means its peer died (daemon_downing.cpp).
#include "cluster/daemon_state.hpp"

#include <algorithm>
#include <chrono>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>

#include "troupe/log.hpp"
#include "troupe/wire/cluster.pb.h"
#include "troupe/wire/proto.hpp"

namespace troupe::cluster::daemon_detail {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

/// Gossip partners per round, and members each change is pushed to.
constexpr size_t round_partners = 1;
constexpr size_t push_partners = 3;

/// Load and actor types go to every member on change, at most this often.
constexpr auto status_every = std::chrono::seconds{1};

uint64_t splitmix(uint64_t& state) {
  auto z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

wire::MemberRecord to_wire(const member_record& r) {
  wire::MemberRecord x;
  x.set_name(r.name);
  x.set_incarnation(r.incarnation);
  x.set_status(static_cast<wire::GossipStatus>(r.status));
  x.set_endpoint(r.endpoint);
  for (auto& [observer, o] : r.observations) {
    auto& y = *x.add_observations();
    y.set_observer(observer);
    y.set_unreachable(o.unreachable);
    y.set_observer_incarnation(o.observer_incarnation);
    y.set_seq(o.seq);
  }
  return x;
}

/// False for a record no node sends (no name, a status out of range).
bool from_wire(const wire::MemberRecord& x, member_record& r) {
  if (x.name().empty() || x.status() < wire::G_UP
      || x.status() > wire::G_REMOVED)
    return false;
  r.name = x.name();
  r.incarnation = x.incarnation();
  r.status = static_cast<gossip_status>(x.status());
  r.endpoint = x.endpoint();
  for (auto& y : x.observations())
    r.observations[y.observer()] = observation{y.unreachable(),
                                               y.observer_incarnation(),
                                               y.seq()};
  return true;
}

template <class Records>
std::vector<member_record> records_of(const Records& xs) {
  std::vector<member_record> result;
  result.reserve(static_cast<size_t>(xs.size()));
  for (auto& x : xs) {
    member_record r;
    if (from_wire(x, r))
      result.emplace_back(std::move(r));
  }
  return result;
}

/// The live peer that is `key`, if any.
peer* live_peer(daemon_actor* self, const member_key& key) {
  auto i = self->state.peers.find(key.name);
  if (i == self->state.peers.end() || !is_live(i->second)
      || i->second.info.incarnation != key.incarnation)
    return nullptr;
  return &i->second;
}

/// How long `key` has been silent here, if this node heard from it.
int64_t silent_ms(daemon_actor* self, const member_key& key,
                  steady::time_point now) {
  if (auto at = self->state.live->last_heard(key.name, key.incarnation))
    return duration_cast<milliseconds>(now - *at).count();
  return -1;
}

std::string why_silent(daemon_actor* self, int64_t silent) {
  if (silent >= 0)
    return fmt::format("no heartbeat for {} ms (unreachable for its "
                       "monitors, gossip)",
                       silent);
  return fmt::format("no heartbeat for over {} ms (unreachable for its "
                     "monitors, gossip)",
                     self->state.shared->fd.failure_timeout.count());
}

std::vector<peer*> partners(daemon_actor* self, size_t n) {
  auto& st = self->state;
  std::vector<peer*> result;
  for (auto& key : st.gossip->gossip_partners(n, splitmix(st.gossip_rng)))
    if (auto p = live_peer(self, key))
      result.push_back(p);
  return result;
}

/// Pushes what changed in the view to a few members at once.
void push_changes(daemon_actor* self) {
  auto& st = self->state;
  if (!st.gossip->has_changes())
    return;
  wire::GossipRecords msg;
  for (auto& r : st.gossip->take_changes())
    *msg.add_records() = to_wire(r);
  for (auto p : partners(self, push_partners))
    self->send(p->daemon, msg);
}

/// Acts on the view: members marked down or left by the cluster are so
/// here too; members it lists that this node has not met are noted, to be
/// dialed (`dial_unmet`).
void reconcile(daemon_actor* self) {
  auto& st = self->state;
  auto now = steady::now();
  // Acted on after the walk: marking down writes to the view.
  std::vector<std::pair<peer*, const member_record*>> gone;
  for (auto& [name, r] : st.gossip->view().records()) {
    if (name == st.shared->self_name)
      continue;
    auto i = st.peers.find(name);
    peer* p = i == st.peers.end() ? nullptr : &i->second;
    switch (r.status) {
      case gossip_status::up:
      case gossip_status::leaving:
        if ((p && is_live(*p) && p->info.incarnation >= r.incarnation)
            || judged_fenced(self, name, r.incarnation))
          st.gossip_unmet.erase(name);
        else
          st.gossip_unmet.emplace(name, now);
        break;
      case gossip_status::down:
      case gossip_status::left:
        st.gossip_unmet.erase(name);
        if (p && is_live(*p) && p->info.incarnation == r.incarnation)
          gone.emplace_back(p, &r);
        break;
      case gossip_status::removed:
        st.gossip_unmet.erase(name);
        break;
    }
  }
  for (auto [p, r] : gone) {
    if (r->status == gossip_status::left) {
      mark_down(self, *p, member_status::left, "left the cluster (gossip)");
      continue;
    }
    // Monitors' claims mean it went silent; a down without any means a
    // member saw its connection drop (it died).
    bool claimed = std::any_of(r->observations.begin(), r->observations.end(),
                               [](auto& kvp) { return kvp.second.unreachable; });
    if (claimed) {
      p->unreachable = true;
      p->down_at = now;
    }
    auto silent = silent_ms(self, r->key(), now);
    mark_down(self, *p, member_status::down,
              claimed ? why_silent(self, silent)
                      : "connection lost at another member (gossip)",
              silent);
  }
}

/// Dials the members met by gossip only: after a heartbeat interval (their
/// own dial or a welcome usually comes first), the node with the smaller
/// name, as with heartbeats in mesh detection; after a failure timeout,
/// either.
void dial_unmet(daemon_actor* self, steady::time_point now) {
  auto& st = self->state;
  auto& fd = st.shared->fd;
  for (auto i = st.gossip_unmet.begin(); i != st.gossip_unmet.end();) {
    auto r = st.gossip->view().find(i->first);
    if (r == nullptr) {
      i = st.gossip_unmet.erase(i);
      continue;
    }
    auto waited = now - i->second;
    if (waited >= fd.failure_timeout
        || (waited >= fd.heartbeat_interval
            && st.shared->self_name < i->first))
      connect_to(self, r->endpoint);
    ++i;
  }
}

/// Tells every live member this node's load and actor types when they
/// changed (placement reads them), at most once a second.
void tell_status(daemon_actor* self, steady::time_point now) {
  auto& st = self->state;
  auto me = self_member(self);
  if ((me.load == st.told_load && me.actor_types == st.told_types)
      || now - st.told_at < status_every)
    return;
  st.told_load = me.load;
  st.told_types = me.actor_types;
  st.told_at = now;
  auto hb = heartbeat_of(me);
  auto msg = caf::make_message(std::move(hb));
  for (auto& kvp : st.peers)
    if (is_live(kvp.second))
      self->send(kvp.second.daemon, msg);
}

/// A gossip round with one random member: this view's record digests; it
/// answers with what differs, and gets what it wants back.
void gossip_round(daemon_actor* self) {
  auto& st = self->state;
  auto ps = partners(self, round_partners);
  if (ps.empty())
    return;
  wire::GossipDigest d;
  d.set_view_digest(st.gossip->view().digest());
  for (auto& [name, digest] : st.gossip->view().digests()) {
    d.add_names(name);
    d.add_digests(digest);
  }
  for (auto p : ps) {
    auto to = p->daemon;
    self->request(to, std::max(st.shared->fd.failure_timeout,
                               milliseconds{1000}),
                  d)
      .then(
        [self, to](const wire::GossipDelta& delta) {
          if (!self->state.gossip)
            return;
          on_gossip_delta(self, delta);
          if (delta.wanted_size() == 0)
            return;
          std::vector<std::string> names(delta.wanted().begin(),
                                         delta.wanted().end());
          wire::GossipRecords back;
          for (auto& r : self->state.gossip->view().records_for(names))
            *back.add_records() = to_wire(r);
          self->send(to, std::move(back));
        },
        [](caf::error&) {
          // A lost round: the next one, with another member, makes up.
        });
  }
}

std::string fenced_reason(daemon_actor* self) {
  auto& st = self->state;
  auto me = st.gossip->view().find(st.shared->self_name);
  if (me == nullptr || me->incarnation != st.gossip->self().incarnation
      || me->status == gossip_status::down
      || me->status == gossip_status::removed)
    return "the cluster marked this incarnation down (gossip)";
  return fmt::format("this node can no longer reach a majority of the "
                     "cluster ({} of its members unreachable, gossip)",
                     st.gossip->unreachable().size());
}

} // namespace

void gossip_start(daemon_actor* self) {
  auto& st = self->state;
  auto& fd = st.shared->fd;
  if (!fd.gossip)
    return;
  membership_settings ms;
  ms.monitors = fd.monitors;
  ms.heartbeat_interval = fd.heartbeat_interval;
  ms.failure_timeout = fd.failure_timeout;
  ms.stall_limit = fd.heartbeat_interval * 5 / 2;
  ms.forget_after = fd.forget_after;
  ms.tombstone_ttl = fd.tombstone_ttl;
  auto now = steady::now();
  member_key me{st.shared->self_name, st.shared->incarnation.load()};
  st.gossip = std::make_unique<membership>(me, self_endpoint(self), ms, now);
  st.gossip_rng = std::hash<std::string>{}(me.name) ^ me.incarnation
                  ^ static_cast<uint64_t>(now.time_since_epoch().count());
  st.gossip_unmet.clear();
}

void gossip_note(daemon_actor* self, const member& m, member_status status) {
  auto& st = self->state;
  if (!st.gossip)
    return;
  member_record r;
  r.name = m.name;
  r.incarnation = m.incarnation;
  r.endpoint = endpoint_of(m);
  switch (status) {
    case member_status::up:
      r.status = gossip_status::up;
      break;
    case member_status::left:
      r.status = gossip_status::left;
      break;
    default:
      r.status = gossip_status::down;
      break;
  }
  st.gossip->merge({r}, steady::now());
  push_changes(self);
}

void gossip_leave(daemon_actor* self) {
  auto& st = self->state;
  if (!st.gossip)
    return;
  st.gossip->leave(true);
  push_changes(self);
}

void gossip_heartbeats(daemon_actor* self) {
  auto& st = self->state;
  auto me = self_member(self);
  auto hb = heartbeat_of(me);
  auto answer = hb;
  hb.set_ping(true);
  std::vector<caf::actor> to;
  for (auto& key : st.gossip->watched())
    if (auto p = live_peer(self, key))
      to.emplace_back(p->daemon);
  st.live->set_answer(caf::make_message(std::move(answer)));
  st.live->set_heartbeat(caf::make_message(std::move(hb)), std::move(to));
}

void gossip_tick(daemon_actor* self, steady::time_point now) {
  auto& st = self->state;
  auto& g = *st.gossip;
  // When the watched members' answers arrived, as the receiving thread
  // noted (the daemon may run late).
  for (auto& key : g.watched())
    if (auto at = st.live->last_heard(key.name, key.incarnation))
      g.heard(key, *at);
  auto verdict = g.tick(now);
  if (verdict.fenced) {
    fence(self, fenced_reason(self));
    return;
  }
  for (auto& key : verdict.downed) {
    auto p = live_peer(self, key);
    if (p == nullptr)
      continue;
    auto silent = silent_ms(self, key, now);
    p->unreachable = true;
    p->down_at = now;
    mark_down(self, *p, member_status::down, why_silent(self, silent),
              silent);
  }
  reconcile(self);
  dial_unmet(self, now);
  tell_status(self, now);
  gossip_round(self);
  push_changes(self);
}

wire::GossipDelta on_gossip_digest(daemon_actor* self,
                                   const wire::GossipDigest& d) {
  wire::GossipDelta result;
  auto& st = self->state;
  if (!st.gossip || d.view_digest() == st.gossip->view().digest()
      || d.names_size() != d.digests_size())
    return result;
  std::vector<std::pair<std::string, uint64_t>> theirs;
  theirs.reserve(static_cast<size_t>(d.names_size()));
  for (int i = 0; i < d.names_size(); ++i)
    theirs.emplace_back(d.names(i), d.digests(i));
  // `delta_for` wants them sorted by name, as every node sends them; a
  // node that did not is answered all the same.
  if (!std::is_sorted(theirs.begin(), theirs.end()))
    std::sort(theirs.begin(), theirs.end());
  auto delta = st.gossip->view().delta_for(theirs);
  for (auto& r : delta.records)
    *result.add_records() = to_wire(r);
  for (auto& name : delta.wanted)
    result.add_wanted(name);
  return result;
}

void on_gossip_delta(daemon_actor* self, const wire::GossipDelta& d) {
  auto& st = self->state;
  if (!st.gossip || d.records_size() == 0)
    return;
  if (st.gossip->merge(records_of(d.records()), steady::now())) {
    reconcile(self);
    push_changes(self);
  }
}

void on_gossip_records(daemon_actor* self, const wire::GossipRecords& r) {
  auto& st = self->state;
  if (!st.gossip)
    return;
  if (st.gossip->merge(records_of(r.records()), steady::now())) {
    reconcile(self);
    push_changes(self);
  }
}

} // namespace troupe::cluster::daemon_detail
