// SPDX-License-Identifier: Apache-2.0
// The cluster daemon actor: its mailbox's clock and its behavior, which
// hands each message to the part of the daemon that does that job (see
// daemon_state.hpp for the parts).
#include "cluster/daemon.hpp"
#include "cluster/daemon_state.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>

#include "troupe/wire/cluster.pb.h"
#include "troupe/wire/node.pb.h"
#include "troupe/wire/proto.hpp"

namespace troupe::cluster {

namespace daemon_detail {

caf::behavior daemon(daemon_actor* self, daemon_config cfg) {
  auto& st = self->state;
  st.shared = std::move(cfg.shared);
  st.seeds = std::move(cfg.seeds);
  st.last_join_attempt = steady::now();
  gossip_start(self);
  if (cfg.etcd)
    etcd_start(self, *cfg.etcd);
  publish(self, nullptr);
  self->set_down_handler(
    [self](caf::down_msg& dm) { on_down_msg(self, dm); });
  self->delayed_send(self, st.shared->fd.heartbeat_interval, tick_atom::value);
  return {
    // -- local requests -------------------------------------------------------
    [self](join_atom, const std::string& endpoint) -> caf::result<bool> {
      add_seed(self, endpoint);
      return request_join(self);
    },
    [self](join_atom) -> caf::result<bool> { return request_join(self); },
    [self](register_atom, const std::string& name, const caf::actor& hdl,
           bool rebind) -> caf::result<void> {
      return register_name(self, name, hdl, rebind);
    },
    [self](unregister_atom, const std::string& name,
           const caf::actor_addr& addr) { unregister_name(self, name, addr); },
    [self](subscribe_names_atom, const caf::actor& listener) {
      subscribe_names(self, listener);
    },
    [self](subscribe_atom, const caf::actor& listener) {
      subscribe_members(self, listener);
    },
    [self](leave_atom) {
      leave(self);
      return caf::unit;
    },
    [](sync_atom) { return caf::unit; },
    [self](spawn_atom, const std::string& type, const std::string& where,
           int how, const caf::message& args,
           const std::vector<std::string>& excluded)
      -> caf::result<caf::actor> {
      return spawn(self, type, where, how, args, excluded);
    },
    // -- connecting -------------------------------------------------------------
    [self](peer_at_atom, const std::string& endpoint) {
      return peer_at(self, endpoint);
    },
    [self](const wire::Lookup& req) {
      return self->delegate(self->state.shared->directory, req);
    },
    [self](connected_atom, const std::string& endpoint,
           const caf::actor& peer_daemon) {
      on_connected(self, endpoint, peer_daemon);
    },
    [self](connected_atom, const std::string& endpoint, caf::error& err) {
      on_connect_failed(self, endpoint, err);
    },
    // -- other daemons ------------------------------------------------------------
    [self](const wire::Join& j,
           const caf::actor& joiner) -> caf::result<wire::Welcome> {
      return on_join(self, j, joiner);
    },
    [self](const wire::Heartbeat& hb) { on_heartbeat(self, hb); },
    [self](const wire::GossipDigest& d) { return on_gossip_digest(self, d); },
    [self](const wire::GossipDelta& d) { on_gossip_delta(self, d); },
    [self](const wire::GossipRecords& r) { on_gossip_records(self, r); },
    [self](const wire::FlowHello& hello, const caf::actor& echo) {
      on_flow_hello(self, hello, echo);
    },
    [self](const wire::Fenced& f) {
      if (f.incarnation() != 0
          && f.incarnation() != self->state.shared->incarnation.load())
        return; // an incarnation this node already left behind
      fence(self, fmt::format("a member says: {}", f.reason()));
    },
    [self](const wire::Leave& l) {
      on_leave(self, l.name(), l.incarnation());
    },
    [self](const wire::NameEntry& x, const caf::actor& hdl) {
      on_name_entry(self, x, hdl);
    },
    [self](const wire::NameEntry& x) { on_name_drop(self, x); },
    [self](const wire::SpawnRequest& req,
           const caf::message& args) -> caf::result<caf::actor> {
      return on_spawn_request(self, req.type(), args);
    },
    [self](tick_atom) { on_tick(self); },
    [self](etcd_atom, int kind, const std::string& name, uint64_t incarnation,
           const std::string& host, uint16_t port) {
      on_etcd_event(self, kind, name, incarnation, host, port);
    },
  };
}

} // namespace daemon_detail

namespace {

using daemon_detail::daemon_actor;
using daemon_detail::steady;

/// The daemon notes, on the thread that delivers them, when heartbeats and
/// down messages arrive: busy handlers may keep it from running for
/// seconds, and its judgement must not shift by that much.
class daemon_impl : public daemon_actor {
public:
  daemon_impl(caf::actor_config& cfg, daemon_config dc)
    : daemon_actor(cfg),
      cfg_(std::move(dc)),
      live_(std::make_shared<liveness>(cfg_.shared->fd.heartbeat_interval,
                                       cfg_.shared->fd.failure_timeout)) {
  }

  void enqueue(caf::mailbox_element_ptr x, caf::execution_unit* eu) override {
    if (x) {
      auto& msg = x->content();
      if (msg.match_elements<wire::Heartbeat>()) {
        auto& hb = msg.get_as<wire::Heartbeat>(0);
        live_->heard(hb.name(), hb.incarnation(), steady::now());
        // A monitor's probe is answered here, on the receiving thread:
        // busy handlers must not make this node look dead.
        if (hb.ping() && x->sender)
          if (auto answer = live_->answer(); !answer.empty())
            x->sender->enqueue(caf::make_mailbox_element(
                                 caf::actor_cast<caf::strong_actor_ptr>(this),
                                 caf::make_message_id(), {},
                                 std::move(answer)),
                               eu);
      } else if (msg.match_elements<caf::down_msg>()) {
        live_->down_arrived(msg.get_as<caf::down_msg>(0).source,
                            steady::now());
      }
    }
    daemon_actor::enqueue(std::move(x), eu);
  }

  caf::behavior make_behavior() override;

private:
  daemon_config cfg_;
  std::shared_ptr<liveness> live_;
};

caf::behavior daemon_impl::make_behavior() {
  state.live = live_;
  live_->start(caf::actor_cast<caf::weak_actor_ptr>(this));
  return daemon_detail::daemon(this, std::move(cfg_));
}

} // namespace

caf::actor spawn_daemon(caf::actor_system& sys, daemon_config cfg) {
  // On a thread of its own (as Akka gives its cluster a dispatcher of its
  // own): membership must not wait behind busy actors, and code running
  // in an actor may wait for the daemon's answer (a supervisor placing a
  // remote child does) without holding up the only worker that could
  // give it: with `--threads 1` that wait took its full timeout.
  return sys.spawn<daemon_impl, caf::detached>(std::move(cfg));
}

} // namespace troupe::cluster
