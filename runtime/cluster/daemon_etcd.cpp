// SPDX-License-Identifier: Apache-2.0
// Membership in etcd (`--membership etcd`, runtime/cluster/etcd/): the
// daemon as the owner of an etcd provider. Each node keeps its record
// under a lease; a member that appears in etcd is dialed (and joined as
// through a seed: Join, Welcome), and a member whose key goes (its lease
// ran out: killed, frozen or cut off from etcd) is marked down, as
// Orleans' and Proto.Actor's membership tables decide. The daemon's own
// failure detection keeps running beside it. While etcd cannot be
// reached the provider keeps its last view and says so; nobody is marked
// down for it.
#include "cluster/daemon_state.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>

#include "cluster/etcd/provider.hpp"
#include "troupe/log.hpp"

namespace troupe::cluster::daemon_detail {

namespace {

/// etcd keeps members under `/troupe/<cluster>/members/`.
constexpr const char* cluster_key = "troupe";

etcd::member_record self_record(daemon_actor* self) {
  auto& c = *self->state.shared;
  etcd::member_record r;
  r.name = c.self_name;
  r.incarnation = c.incarnation.load();
  r.host = c.host;
  r.port = c.port;
  return r;
}

} // namespace

daemon_state::~daemon_state() {
  if (live)
    live->stop();
  if (etcd)
    etcd->stop();
}

void etcd_start(daemon_actor* self, const etcd_membership& cfg) {
  etcd::provider_settings s;
  s.cluster = cluster_key;
  s.self = self_record(self);
  s.endpoints = cfg.endpoints;
  s.lease_ttl = std::max(std::chrono::seconds{1},
                         std::chrono::duration_cast<std::chrono::seconds>(
                           cfg.lease_ttl));
  // Events come from the provider's watcher thread, as messages.
  caf::weak_actor_ptr weak = caf::actor_cast<caf::weak_actor_ptr>(self);
  auto p = std::make_shared<etcd::provider>(
    std::move(s), [weak](const etcd::member_event& ev) {
      if (auto hdl = caf::actor_cast<caf::actor>(weak))
        caf::anon_send(hdl, etcd_atom::value, static_cast<int>(ev.type),
                       ev.member.name, ev.member.incarnation, ev.member.host,
                       ev.member.port);
    });
  if (auto ok = p->start(); !ok) {
    log(log_level::error,
        fmt::format("membership in etcd not started: {}", describe(ok.err())));
    return;
  }
  log(log_level::info,
      fmt::format("node '{}' keeps its membership in etcd ({})",
                  self->state.shared->self_name,
                  fmt::join(cfg.endpoints, ", ")));
  self->state.etcd = std::move(p);
}

void etcd_update_self(daemon_actor* self) {
  if (auto& p = self->state.etcd)
    if (auto ok = p->update_self(self_record(self)); !ok)
      log(log_level::warn, fmt::format("etcd: this node's record not "
                                       "updated: {}",
                                       describe(ok.err())));
}

void on_etcd_event(daemon_actor* self, int kind, const std::string& name,
                   uint64_t incarnation, const std::string& host,
                   uint16_t port) {
  auto& st = self->state;
  if (name == st.shared->self_name)
    return;
  auto i = st.peers.find(name);
  peer* p = i == st.peers.end() ? nullptr : &i->second;
  switch (kind) {
    case etcd::member_event::joined:
    case etcd::member_event::updated:
      if ((p && is_live(*p) && p->info.incarnation >= incarnation)
          || judged_fenced(self, name, incarnation))
        return;
      connect_to(self, fmt::format("{}:{}", host, port));
      return;
    case etcd::member_event::left:
      if (p && is_live(*p) && p->info.incarnation == incarnation) {
        p->down_at = steady::now();
        mark_down(self, *p, member_status::down,
                  "its etcd lease ended (killed, frozen or cut off from "
                  "etcd)");
      }
      return;
    default:
      return;
  }
}

} // namespace troupe::cluster::daemon_detail
