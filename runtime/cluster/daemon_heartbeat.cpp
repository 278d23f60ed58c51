// SPDX-License-Identifier: Apache-2.0
// Heartbeats and the daemon's tick: what the liveness thread sends for this
// node, what a member's heartbeat tells this one, and the periodic work
// (rejoining when alone, visiting seeds, forgetting, housekeeping). When a
// heartbeat arrived is noted on the delivering thread (daemon.cpp,
// liveness.hpp); a lost member is judged in daemon_downing.cpp.
#include "cluster/daemon_state.hpp"
#include "cluster/joining.hpp"

#include <algorithm>
#include <chrono>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>

#include "troupe/wire/cluster.pb.h"
#include "troupe/wire/proto.hpp"

namespace troupe::cluster::daemon_detail {

namespace {

/// Members the sender of a heartbeat knows and this node does not: the
/// node with the smaller name connects, so two nodes never dial each other.
void dial_unknown_members(daemon_actor* self, const wire::Heartbeat& hb) {
  auto& st = self->state;
  for (auto& x : hb.members()) {
    auto m = from_wire(x);
    if (m.name == st.shared->self_name || m.status != member_status::up)
      continue;
    auto j = st.peers.find(m.name);
    auto grave = st.graves.find(m.name);
    // A member this node marked down (or buried) only when or before it
    // was fenced itself is not known: that judgement is void, and a
    // rejoiner whose first dial of it failed must dial it again (the other
    // side, the larger name, waits to be dialed).
    bool known = (j != st.peers.end()
                  && (is_live(j->second)
                      || j->second.info.incarnation >= m.incarnation))
                 || (grave && grave->incarnation >= m.incarnation);
    if (known && is_fenced(self, m.name, m.incarnation)
        && !judged_fenced(self, m.name, m.incarnation))
      known = false; // the void judgement
    if (!known && st.shared->self_name < m.name)
      connect_to(self, endpoint_of(m));
  }
}

/// Dials the seeds that are not live members: one may be back as a new
/// process that started a cluster of its own, and the two clusters become
/// one again (the seed learns the members from this node's welcome).
void visit_seeds(daemon_actor* self) {
  auto& st = self->state;
  for (auto& seed : st.seeds)
    if (std::none_of(st.peers.begin(), st.peers.end(), [&](auto& kvp) {
          return is_live(kvp.second) && endpoint_of(kvp.second.info) == seed;
        }))
      connect_to(self, seed);
}

} // namespace

wire::Heartbeat heartbeat_of(const member& me) {
  wire::Heartbeat hb;
  hb.set_name(me.name);
  hb.set_incarnation(me.incarnation);
  hb.set_load(me.load);
  for (auto& t : me.actor_types)
    hb.add_actor_types(t);
  return hb;
}

void prepare_heartbeats(daemon_actor* self) {
  auto& st = self->state;
  if (!st.live)
    return;
  if (st.gossip) {
    gossip_heartbeats(self);
    return;
  }
  auto me = self_member(self);
  auto hb = heartbeat_of(me);
  std::vector<caf::actor> to;
  for (auto& kvp : st.peers)
    if (is_live(kvp.second)) {
      *hb.add_members() = to_wire(kvp.second.info);
      to.emplace_back(kvp.second.daemon);
    }
  st.live->set_heartbeat(caf::make_message(std::move(hb)), std::move(to));
}

void on_heartbeat(daemon_actor* self, const wire::Heartbeat& hb) {
  auto& st = self->state;
  if (fence_if_stalled(self))
    return;
  switch (judge(self, hb.name(), hb.incarnation())) {
    case fence_verdict::void_judgement:
      return; // met again through this node's rejoin
    case fence_verdict::fenced: {
      wire::Fenced f;
      f.set_incarnation(hb.incarnation());
      f.set_reason(fmt::format("incarnation {} of '{}' was marked down",
                               hb.incarnation(), hb.name()));
      if (auto sender = caf::actor_cast<caf::actor>(self->current_sender()))
        self->send(sender, std::move(f));
      return;
    }
    case fence_verdict::not_fenced:
      break;
  }
  auto i = st.peers.find(hb.name());
  if (i == st.peers.end() || i->second.info.incarnation != hb.incarnation())
    return;
  i->second.last_heard = st.live->last_heard(hb.name(), hb.incarnation())
                           .value_or(steady::now());
  i->second.info.load = hb.load();
  i->second.info.actor_types.assign(hb.actor_types().begin(),
                                    hb.actor_types().end());
  dial_unknown_members(self, hb);
}

void on_tick(daemon_actor* self) {
  auto& st = self->state;
  auto& fd = st.shared->fd;
  auto now = steady::now();
  fence_if_stalled(self);
  if (st.gossip)
    gossip_tick(self, now);
  join_view v;
  v.alone = std::none_of(st.peers.begin(), st.peers.end(),
                         [](auto& kvp) { return is_live(kvp.second); });
  v.connecting = !st.connecting.empty();
  v.has_targets = !st.seeds.empty() || !st.remembered.empty();
  v.last_attempt = st.last_join_attempt;
  v.last_seed_visit = st.last_seed_visit;
  switch (next_join_step(v, now, fd.failure_timeout)) {
    case join_step::rejoin:
      try_join(self);
      break;
    case join_step::visit_seeds:
      st.last_seed_visit = now;
      visit_seeds(self);
      break;
    case join_step::none:
      break;
  }
  forget_gone(self, now);
  forget_unmet_names(self, now);
  st.shared->pending.expire(std::chrono::minutes{10});
  drop_ended_hosted(st);
  publish(self, nullptr);
  self->delayed_send(self, fd.heartbeat_interval, tick_atom::value);
}

} // namespace troupe::cluster::daemon_detail
