// SPDX-License-Identifier: Apache-2.0
// Downing and fencing: marking a member down or left, judging a lost
// member (died or went silent) and whether this node is then in the
// minority, fencing this node (a new incarnation, a rejoin), which
// incarnations are fenced, and forgetting members long gone. The rules
// are pure functions (downing.hpp, fencing.hpp, tombstones.hpp); this file
// builds their views from the daemon's peers and acts on the answers.
#include "cluster/daemon_state.hpp"
#include "cluster/downing.hpp"
#include "transport/endpoint.hpp"

#include <algorithm>
#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>

#include "troupe/error.hpp"
#include "troupe/log.hpp"

namespace troupe::cluster::daemon_detail {

namespace {

/// Whether this node is in the minority (`downing.hpp`), judged on the
/// daemon's view of its peers now.
bool in_minority(daemon_actor* self) {
  auto& st = self->state;
  std::vector<quorum_entry> others;
  others.reserve(st.peers.size());
  for (auto& kvp : st.peers) {
    auto& p = kvp.second;
    others.push_back({kvp.first, is_live(p),
                      p.unreachable && p.info.status == member_status::down,
                      p.down_at});
  }
  return cluster::in_minority(st.shared->self_name, others, steady::now(),
                              st.shared->fd.failure_timeout);
}

void handle_peer_down(daemon_actor* self, peer& p, const caf::error& reason,
                      steady::time_point dropped) {
  auto& st = self->state;
  // Judged at the times the heartbeats and the drop arrived, not when this
  // daemon got to run (busy handlers may have kept it waiting).
  auto last = std::max(p.last_heard, st.live->last_heard(p.info.name,
                                                         p.info.incarnation)
                                       .value_or(p.last_heard));
  auto silent = dropped > last ? dropped - last : steady::duration::zero();
  // A process that dies has its connections closed by the kernel at once:
  // the link drops while heartbeats are fresh. A frozen or cut-off node
  // goes silent first, and the link is closed by the failure timeout.
  // With gossip detection links carry no heartbeats, and BASP closes none
  // on a timeout: a drop is the kernel's, the peer died; the silent are
  // judged by their monitors (daemon_gossip.cpp).
  p.unreachable = !st.gossip
                  && went_silent(last, dropped, st.shared->fd.failure_timeout);
  p.down_at = steady::now();
  auto why = p.unreachable
               ? fmt::format("no heartbeat for {} ms",
                             std::chrono::duration_cast<
                               std::chrono::milliseconds>(silent)
                               .count())
               : fmt::format("connection lost ({})", describe(reason));
  mark_down(self, p, member_status::down, why,
            std::chrono::duration_cast<std::chrono::milliseconds>(silent)
              .count());
  if (p.unreachable && in_minority(self))
    fence(self, fmt::format("this node can no longer reach a majority of "
                            "the cluster (lost '{}': {})",
                            p.info.name, why));
}

} // namespace

void mark_down(daemon_actor* self, peer& p, member_status status,
               const std::string& why, int64_t silent_ms) {
  if (p.info.status == member_status::down
      || p.info.status == member_status::left)
    return;
  auto& c = *self->state.shared;
  p.info.status = status;
  p.gone_at = steady::now();
  if (p.daemon)
    self->demonitor(p.daemon);
  log(status == member_status::left ? log_level::info : log_level::warn,
      fmt::format("member '{}' (incarnation {}) is {}: {}", p.info.name,
                  p.info.incarnation, to_string(status), why));
  member_change change;
  change.name = p.info.name;
  change.incarnation = p.info.incarnation;
  change.change = to_string(status);
  change.why = why;
  change.silent_ms = silent_ms;
  c.history.record(std::move(change));
  // What this node judged spreads (gossip detection), unless the judgement
  // is void: it was this node that was fenced.
  if (!p.down_by_own_fence)
    gossip_note(self, p.info, status);
  // Readers see the node as unreachable before its flow closes, so no
  // message slips through uncounted in between.
  publish(self, nullptr);
  if (p.nid) {
    // Gossip detection: links carry no heartbeats, so nothing else would
    // close the connection to a member marked down while its process
    // lives on (frozen, cut off): its proxies here end with it, as with
    // mesh detection's timeout, and what it sends is no longer heard.
    if (self->state.gossip && status == member_status::down && c.net)
      c.net->disconnect(p.nid);
    c.flow_close(p.nid);
    auto n = c.pending.fail(p.nid, make_error(errc::node_down,
                                              fmt::format("node '{}' is {}",
                                                          p.info.name,
                                                          to_string(status))));
    if (n > 0)
      log(log_level::info, fmt::format("failed {} request(s) pending on '{}'",
                                       n, p.info.name));
  }
  for (auto& name : c.names.drop_owned_by(p.info.name)) {
    name_changed(self, name);
    log(log_level::info, fmt::format("cluster name '{}' released: its node "
                                     "'{}' is {}",
                                     name, p.info.name, to_string(status)));
  }
  stop_orphans(self, p, status);
  // Subscribers hear of it once names and requests are settled.
  notify(self, p.info);
}

void on_down_msg(daemon_actor* self, caf::down_msg& dm) {
  if (fence_if_stalled(self))
    return;
  auto dropped = self->state.live->take_down(dm.source)
                   .value_or(steady::now());
  for (auto& kvp : self->state.peers)
    if (kvp.second.daemon.address() == dm.source && is_live(kvp.second)) {
      handle_peer_down(self, kvp.second, dm.reason, dropped);
      return;
    }
}

fence_verdict judge(daemon_actor* self, const std::string& name,
                    uint64_t incarnation) {
  auto& st = self->state;
  incarnation_record r;
  if (auto i = st.peers.find(name); i != st.peers.end()) {
    auto& p = i->second;
    r = {p.info.incarnation, p.info.status == member_status::down,
         p.down_by_own_fence};
  } else if (auto t = st.graves.find(name)) {
    r = {t->incarnation, true, t->by_own_fence};
  } else {
    return judge_incarnation(nullptr, incarnation);
  }
  return judge_incarnation(&r, incarnation);
}

bool is_fenced(daemon_actor* self, const std::string& name,
               uint64_t incarnation) {
  return judge(self, name, incarnation) != fence_verdict::not_fenced;
}

bool judged_fenced(daemon_actor* self, const std::string& name,
                   uint64_t incarnation) {
  return judge(self, name, incarnation) == fence_verdict::fenced;
}

/// Stops what this node hosts for others, forgets the cluster, takes a new
/// incarnation and rejoins: the rest of the cluster has marked (or will
/// mark) this incarnation down and restarted its work elsewhere.
void fence(daemon_actor* self, const std::string& why) {
  auto& st = self->state;
  auto& c = *st.shared;
  auto next = next_incarnation(c.incarnation.load(),
                               std::chrono::system_clock::now());
  log(log_level::error,
      fmt::format("node '{}' is fenced: {}; stopping {} actor(s) it hosts "
                  "for other nodes and rejoining as incarnation {}",
                  c.self_name, why, st.hosted.size(), next));
  ++c.fenced;
  member_change change;
  change.name = c.self_name;
  change.incarnation = c.incarnation.load();
  change.change = "fenced";
  change.why = why;
  c.history.record(std::move(change));
  stop_all_hosted(self);
  for (auto& kvp : st.peers) {
    auto& p = kvp.second;
    if (p.info.status != member_status::left) {
      st.remembered.emplace_back(endpoint_of(p.info));
      // Whatever this incarnation judged of the others is void: it was the
      // one cut off or frozen.
      p.down_by_own_fence = true;
    }
    if (is_live(p))
      mark_down(self, p, member_status::down, "this node was fenced");
  }
  st.graves.void_judgements();
  // The members stay listed as down (messages to them keep failing at
  // once) until they are met again or forgotten.
  // Names of other nodes go with them; this node's own names stay and are
  // announced again when it rejoins, as names of the new incarnation: the
  // others drop every name of the old one and take none from it again
  // (`is_fenced`), so announced under the old incarnation they would be
  // refused everywhere, and clients kept the handles of proxies that died
  // with the old connections, their requests lost without an answer.
  for (auto& kvp : c.names.all())
    if (kvp.second.owner != c.self_name)
      if (c.names.drop(kvp.first, caf::actor_addr{}))
        name_changed(self, kvp.first);
  // Taken only now: until here this node still speaks (publishes,
  // heartbeats) as the incarnation that was fenced.
  c.incarnation = next;
  c.names.reown(c.self_name, next);
  gossip_start(self);
  etcd_update_self(self);
  publish(self, nullptr);
  try_join(self);
}

/// Fences this node if it has not run for longer than the failure timeout
/// (SIGSTOP, a frozen VM): the others have marked it down by now. Checked
/// before this node judges anybody else, since what it finds on waking
/// (links the others closed, their visits) says nothing about them.
bool fence_if_stalled(daemon_actor* self) {
  auto& st = self->state;
  bool had_peers = std::any_of(st.peers.begin(), st.peers.end(),
                               [](auto& kvp) { return is_live(kvp.second); });
  // The liveness thread, not the daemon's ticks, tells whether the process
  // ran: busy handlers may delay the daemon for seconds, but only a stopped
  // process (SIGSTOP, a frozen VM) keeps that thread from waking.
  auto stall = st.live->take_stall();
  if (!stall || !had_peers)
    return false;
  fence(self, fmt::format("this node did not run for {} ms (frozen); the "
                          "cluster has marked it down",
                          std::chrono::duration_cast<
                            std::chrono::milliseconds>(*stall)
                            .count()));
  return true;
}

/// The subscribers hear `member_status::removed` (see tombstones.hpp).
void forget_gone(daemon_actor* self, steady::time_point now) {
  auto& st = self->state;
  auto& fd = st.shared->fd;
  auto delay = forget_delay(fd);
  std::vector<member> forgotten;
  for (auto i = st.peers.begin(); i != st.peers.end();) {
    auto& p = i->second;
    if (!forget_now(p.info.status, p.gone_at, now, delay)) {
      ++i;
      continue;
    }
    if (p.info.status == member_status::down)
      st.graves.add(i->first, tombstone{p.info.incarnation, p.nid,
                                        p.down_by_own_fence, now});
    log(log_level::info,
        fmt::format("member '{}' (incarnation {}) is forgotten: {} for {} ms",
                    i->first, p.info.incarnation, to_string(p.info.status),
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                      now - p.gone_at)
                      .count()));
    forgotten.emplace_back(p.info);
    forgotten.back().status = member_status::removed;
    member_change change;
    change.name = p.info.name;
    change.incarnation = p.info.incarnation;
    change.change = "forgotten";
    change.why = fmt::format("{} for {} ms", to_string(p.info.status),
                             std::chrono::duration_cast<
                               std::chrono::milliseconds>(now - p.gone_at)
                               .count());
    st.shared->history.record(std::move(change));
    st.live->forget(i->first);
    i = st.peers.erase(i);
  }
  st.graves.expire(now, fd.tombstone_ttl, 1024);
  if (forgotten.empty())
    return;
  publish(self, nullptr);
  for (auto& m : forgotten)
    notify(self, m);
}

} // namespace troupe::cluster::daemon_detail
