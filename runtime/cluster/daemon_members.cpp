// SPDX-License-Identifier: Apache-2.0
// The daemon's member view: this node as a member, the peers it met, what
// it publishes to the node's readers and subscribers, and leaving.
#include "cluster/daemon_state.hpp"

#include <algorithm>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>

#include "cluster/link.hpp"
#include "cluster/ref.hpp"
#include "troupe/log.hpp"
#include "troupe/wire/cluster.pb.h"
#include "troupe/wire/proto.hpp"

namespace troupe::cluster::daemon_detail {

std::string endpoint_of(const member& m) {
  return fmt::format("{}:{}", m.host, m.port);
}

std::string self_endpoint(daemon_actor* self) {
  auto& c = *self->state.shared;
  return fmt::format("{}:{}", c.host, c.port);
}

member self_member(daemon_actor* self) {
  auto& c = *self->state.shared;
  member m;
  m.name = c.self_name;
  m.incarnation = c.incarnation.load();
  m.host = c.host;
  m.port = c.port;
  m.status = member_status::up;
  m.load = static_cast<uint32_t>(self->home_system().registry().running());
  m.actor_types = c.types.names();
  return m;
}

bool is_live(const peer& p) {
  return p.info.status == member_status::up;
}

void notify(daemon_actor* self, const member& changed) {
  for (auto& sub : self->state.subscribers)
    self->send(sub, member_event{changed});
}

void publish(daemon_actor* self, const member* changed) {
  auto& st = self->state;
  std::vector<member> all{self_member(self)};
  std::vector<caf::node_id> unreachable;
  std::vector<std::pair<caf::node_id, std::string>> ids{
    {self->home_system().node(), st.shared->self_name}};
  for (auto& kvp : st.peers) {
    all.emplace_back(kvp.second.info);
    if (kvp.second.nid)
      ids.emplace_back(kvp.second.nid, kvp.first);
    if (!is_live(kvp.second) && kvp.second.nid)
      unreachable.emplace_back(kvp.second.nid);
  }
  for (auto& nid : st.graves.nids())
    unreachable.emplace_back(nid);
  st.shared->view.publish(std::move(all), std::move(unreachable),
                         std::move(ids));
  publish_hosted(st);
  prepare_heartbeats(self);
  if (changed)
    notify(self, *changed);
}

/// Returns whether `m` was met anew (not a renewal): then it is to hear
/// this node's names (`announce_names`), once it lists this node as up.
bool add_peer(daemon_actor* self, const member& m, const caf::actor& daemon) {
  auto& st = self->state;
  auto& p = st.peers[m.name];
  if (p.daemon && p.daemon != daemon)
    self->demonitor(p.daemon);
  bool renewed = p.daemon == daemon && is_live(p)
                 && p.info.incarnation == m.incarnation;
  p.info = m;
  p.info.status = member_status::up;
  p.daemon = daemon;
  p.nid = daemon.node();
  p.ref = make_ref(self->home_system(), st.shared, {}, daemon);
  p.last_heard = steady::now();
  p.unreachable = false;
  p.down_by_own_fence = false;
  st.graves.erase(m.name);
  if (!renewed) {
    auto& history = st.shared->history;
    auto known = history.last_incarnation(m.name);
    member_change change;
    change.name = m.name;
    change.incarnation = m.incarnation;
    change.change = known != 0 && known != m.incarnation ? "rejoined"
                                                         : "joined";
    change.why = "at " + endpoint_of(m);
    history.record(std::move(change));
    gossip_note(self, p.info, member_status::up);
    self->monitor(daemon);
    // Flow control towards the peer starts once its flow actor is known.
    if (st.shared->flow.actor) {
      wire::FlowHello hello;
      tell_own_link(self, hello);
      self->send(daemon, std::move(hello), st.shared->flow.actor);
    }
    log(log_level::info, fmt::format("member '{}' (incarnation {}) at {} is "
                                     "up",
                                     m.name, m.incarnation, endpoint_of(m)));
    publish(self, &p.info);
  }
  on_node_met(self, p.nid);
  return !renewed;
}

void subscribe_members(daemon_actor* self, const caf::actor& listener) {
  self->state.subscribers.emplace_back(listener);
  for (auto& m : self->state.shared->view.members())
    self->send(listener, member_event{m});
}

caf::actor peer_at(daemon_actor* self, const std::string& endpoint) {
  for (auto& kvp : self->state.peers)
    if (is_live(kvp.second) && endpoint_of(kvp.second.info) == endpoint)
      return kvp.second.daemon;
  return caf::actor{};
}

uint16_t own_link_port(daemon_actor* self) {
  auto& links = self->state.shared->links;
  return links ? links->port() : 0;
}

void on_flow_hello(daemon_actor* self, const wire::FlowHello& hello,
                   const caf::actor& echo) {
  if (echo)
    self->state.shared->flow_open(echo.node(), echo, hello.link_host(),
                                  link_port_of(hello.link_port()));
}

void leave(daemon_actor* self) {
  auto& st = self->state;
  wire::Leave l;
  l.set_name(st.shared->self_name);
  l.set_incarnation(st.shared->incarnation.load());
  for (auto& kvp : st.peers)
    if (is_live(kvp.second))
      self->send(kvp.second.daemon, l);
  gossip_leave(self);
  log(log_level::info, fmt::format("node '{}' left the cluster",
                                   st.shared->self_name));
}

void on_leave(daemon_actor* self, const std::string& name,
              uint64_t incarnation) {
  auto i = self->state.peers.find(name);
  if (i != self->state.peers.end()
      && i->second.info.incarnation == incarnation)
    mark_down(self, i->second, member_status::left, "left the cluster");
}

} // namespace troupe::cluster::daemon_detail
