// SPDX-License-Identifier: Apache-2.0
// The cluster daemon's state and the functions its parts share (private to
// runtime/cluster/daemon*.cpp). The daemon is one actor; its jobs live in
// one file each, by the messages they handle:
//   daemon.cpp            the actor, its behavior (which only dispatches)
//   daemon_members.cpp    the member view: peers met, published, left
//   daemon_join.cpp       reaching seeds and members, Join and Welcome
//   daemon_heartbeat.cpp  heartbeats out and in, the daemon's tick
//   daemon_downing.cpp    marking members down, keep-majority, fencing,
//                         forgetting
//   daemon_gossip.cpp     gossip detection (`--detection gossip`): probes
//                         of the watched members, gossip rounds, verdicts
//   daemon_names.cpp      the cluster-wide names
//   daemon_placement.cpp  remote spawn and what is hosted for others
// The decisions themselves are pure functions elsewhere (downing.hpp,
// fencing.hpp, joining.hpp, placing.hpp, tombstones.hpp).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/message.hpp>
#include <caf/node_id.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_response_promise.hpp>

#include "cluster/core.hpp"
#include "cluster/daemon.hpp"
#include "cluster/fencing.hpp"
#include "cluster/liveness.hpp"
#include "cluster/membership.hpp"
#include "cluster/tombstones.hpp"
#include "troupe/cluster/cluster.hpp"

namespace troupe::cluster::etcd {
class provider;
} // namespace troupe::cluster::etcd

namespace troupe::wire {
class FlowHello;
class GossipDelta;
class GossipDigest;
class GossipRecords;
class Heartbeat;
class Join;
class NameEntry;
class Welcome;
} // namespace troupe::wire

namespace troupe::cluster::daemon_detail {

using steady = std::chrono::steady_clock;

using tick_atom = caf::atom_constant<caf::atom("trp_tick")>;
using connected_atom = caf::atom_constant<caf::atom("trp_conn")>;
/// `(etcd_atom, kind, name, incarnation, host, port)`: a change in etcd
/// (kind: 0 joined, 1 updated, 2 left; daemon_etcd.cpp).
using etcd_atom = caf::atom_constant<caf::atom("trp_etcd")>;

/// The daemon's own name among the node's local names.
constexpr const char* daemon_name = "troupe.cluster";

struct peer {
  member info;
  caf::actor daemon;
  /// The daemon behind a troupe handle: requests to it fail when the node
  /// goes down instead of vanishing.
  caf::actor ref;
  caf::node_id nid;
  steady::time_point last_heard;
  /// Down because it stopped answering (not because its process died): it
  /// may still be alive on the other side of a partition, so it counts
  /// when judging whether this node is in the minority.
  bool unreachable = false;
  steady::time_point down_at;
  /// Marked down by this node before or when this node was fenced: that
  /// judgement is void, so the member's messages must not fence it in turn.
  bool down_by_own_fence = false;
  /// When it left or went down (it is forgotten some time after).
  steady::time_point gone_at;
};

/// A name entry about an actor on a node this node has not met yet, and
/// when it came (daemon_names.cpp).
struct unmet_name {
  std::string name;
  name_entry entry;
  steady::time_point since;
};

/// An actor spawned here for another node, and the node that asked.
struct hosted_actor {
  caf::node_id asked_by;
  caf::actor_addr addr;
};

struct daemon_state {
  static inline const char* name = "troupe.cluster";

  std::shared_ptr<core> shared;
  std::vector<std::string> seeds;
  std::map<std::string, peer> peers;
  /// Endpoints being connected to.
  std::vector<std::string> connecting;
  /// Endpoints of members this node knew before it was fenced.
  std::vector<std::string> remembered;
  std::vector<caf::actor> subscribers;
  std::vector<caf::actor> name_subscribers;
  /// Name entries about actors on nodes not met yet, by node: installed
  /// when the node is met, dropped after `forget_after` (a node met anew
  /// announces every name it holds anyway). Sent to before its node is
  /// met, such an actor's messages would take CAF's route through a third
  /// node, and the later ones the direct connection: out of order.
  std::unordered_map<caf::node_id, std::vector<unmet_name>> unmet_names;
  /// Actors spawned here for other nodes: stopped if this node is fenced,
  /// and when the node that asked for one is lost, as children go with
  /// their supervisor (OTP's links, Akka's remote deployment), so that a
  /// new supervisor's copies never meet old ones.
  std::vector<hosted_actor> hosted;
  std::vector<caf::response_promise> join_waiters;
  /// Seeds (or remembered members) of the current join attempt.
  std::vector<std::string> join_targets;
  steady::time_point last_join_attempt;
  steady::time_point last_seed_visit;
  uint64_t last_stamp = 0;
  uint64_t round_robin = 0;
  /// Heartbeats, their arrivals and the stall clock, on a thread of their
  /// own (see liveness.hpp); stopped with the daemon.
  std::shared_ptr<liveness> live;
  /// Forgotten members that went down: their incarnations stay fenced.
  tombstones graves;
  /// Gossip detection (`failure_detector_settings::gossip`): this
  /// incarnation's membership (a new one after a fence); null with mesh
  /// detection.
  std::unique_ptr<membership> gossip;
  uint64_t gossip_rng = 0;
  /// Gossiped members not met yet, and since when (dialed if a heartbeat
  /// interval passes without their own dial or welcome).
  std::map<std::string, steady::time_point> gossip_unmet;
  /// Load and actor types as last told to every member (gossip detection
  /// sends them on change only).
  /// Membership in etcd (`daemon_config::etcd`); stopped with the daemon.
  std::shared_ptr<etcd::provider> etcd;
  uint32_t told_load = 0;
  std::vector<std::string> told_types;
  steady::time_point told_at;

  ~daemon_state();
};

using daemon_actor = caf::stateful_actor<daemon_state>;

/// The daemon's behavior (daemon.cpp).
caf::behavior daemon(daemon_actor* self, daemon_config cfg);

// -- the member view (daemon_members.cpp) -------------------------------------

std::string endpoint_of(const member& m);
std::string self_endpoint(daemon_actor* self);
/// This node as a member, up, with its current incarnation and load.
member self_member(daemon_actor* self);
bool is_live(const peer& p);
/// Tells the subscribers that `changed` changed.
void notify(daemon_actor* self, const member& changed);
/// Publishes the member list to the node's readers and tells subscribers
/// about `changed` (if any).
void publish(daemon_actor* self, const member* changed);
/// Adds (or renews) `m` as an up member reached through `daemon`; true
/// when it was met anew.
bool add_peer(daemon_actor* self, const member& m, const caf::actor& daemon);
/// `subscribe_atom`: member events go to `listener`, the known ones first.
void subscribe_members(daemon_actor* self, const caf::actor& listener);
/// `peer_at_atom`: the daemon of the live member listening at `endpoint`.
caf::actor peer_at(daemon_actor* self, const std::string& endpoint);
/// The port this node's direct links listen on (0: none).
uint16_t own_link_port(daemon_actor* self);
/// Says in `msg` (a Join, Welcome or FlowHello) where this node's direct
/// links listen, if it has any.
template <class Msg>
void tell_own_link(daemon_actor* self, Msg& msg) {
  if (auto port = own_link_port(self); port != 0) {
    msg.set_link_host(self->state.shared->host);
    msg.set_link_port(port);
  }
}
/// A link port as the wire carries it (32 bits), as a port.
inline uint16_t link_port_of(uint32_t x) {
  return static_cast<uint16_t>(std::min<uint32_t>(x, 65535));
}
/// A member met anew tells this node its flow actor (and direct link).
void on_flow_hello(daemon_actor* self, const wire::FlowHello& hello,
                   const caf::actor& echo);
/// `leave_atom`: tells every live member this node leaves.
void leave(daemon_actor* self);
/// A member says it leaves.
void on_leave(daemon_actor* self, const std::string& name,
              uint64_t incarnation);

// -- joining (daemon_join.cpp) ----------------------------------------------

/// Connects to `endpoint` in the background (unless under way or self).
void connect_to(daemon_actor* self, const std::string& endpoint);
/// Contacts the seeds (and, after a fence, the members it knew).
void try_join(daemon_actor* self);
/// `(join_atom, endpoint)`: adds a seed (once).
void add_seed(daemon_actor* self, const std::string& endpoint);
/// `join_atom`: joins; answers once a seed welcomed this node (true) or
/// every one failed (false).
caf::typed_response_promise<bool> request_join(daemon_actor* self);
/// A connector reached the daemon at `endpoint`: asks it to let this node
/// join.
void on_connected(daemon_actor* self, const std::string& endpoint,
                  const caf::actor& peer_daemon);
/// A connector failed to reach `endpoint`.
void on_connect_failed(daemon_actor* self, const std::string& endpoint,
                       const caf::error& err);
/// Another node asks to join through this one.
caf::result<wire::Welcome> on_join(daemon_actor* self, const wire::Join& j,
                                   const caf::actor& joiner);

// -- heartbeats (daemon_heartbeat.cpp) ------------------------------------------

/// A heartbeat of `me`: name, incarnation, load and actor types (no
/// member list, no probe).
wire::Heartbeat heartbeat_of(const member& me);
/// Hands the liveness thread this incarnation's heartbeat and its
/// receivers.
void prepare_heartbeats(daemon_actor* self);
void on_heartbeat(daemon_actor* self, const wire::Heartbeat& hb);
void on_tick(daemon_actor* self);

// -- gossip detection (daemon_gossip.cpp) --------------------------------------

/// Starts this incarnation's membership (gossip detection only).
void gossip_start(daemon_actor* self);
/// A member was met (up) or is gone (`status`): into the gossiped view.
void gossip_note(daemon_actor* self, const member& m, member_status status);
/// This node leaves: its record says so.
void gossip_leave(daemon_actor* self);
/// The probes (`heartbeat_to`) and their answer, for the liveness thread.
void gossip_heartbeats(daemon_actor* self);
/// Every heartbeat interval: verdicts, downs, a gossip round, pushes.
void gossip_tick(daemon_actor* self, steady::time_point now);
/// A round from another member: what differs here (empty if nothing).
wire::GossipDelta on_gossip_digest(daemon_actor* self,
                                   const wire::GossipDigest& d);
void on_gossip_delta(daemon_actor* self, const wire::GossipDelta& d);
void on_gossip_records(daemon_actor* self, const wire::GossipRecords& r);

// -- membership in etcd (daemon_etcd.cpp) ----------------------------------------

/// Starts the etcd provider (its events come as `etcd_atom` messages).
void etcd_start(daemon_actor* self, const etcd_membership& cfg);
/// This node took a new incarnation: its record in etcd follows.
void etcd_update_self(daemon_actor* self);
void on_etcd_event(daemon_actor* self, int kind, const std::string& name,
                   uint64_t incarnation, const std::string& host,
                   uint16_t port);

// -- downing and fencing (daemon_downing.cpp) --------------------------------

/// Marks `p` down (or left): fails the requests pending on it, drops its
/// names, stops what is hosted for it.
void mark_down(daemon_actor* self, peer& p, member_status status,
               const std::string& why, int64_t silent_ms = -1);
/// The monitor of a member's daemon fired.
void on_down_msg(daemon_actor* self, caf::down_msg& dm);
/// What this node holds of `name`'s incarnation `incarnation` (fencing.hpp).
fence_verdict judge(daemon_actor* self, const std::string& name,
                    uint64_t incarnation);
/// Whether `name`/`incarnation` is a fenced incarnation.
bool is_fenced(daemon_actor* self, const std::string& name,
               uint64_t incarnation);
/// Whether to tell `name`/`incarnation` that it is fenced.
bool judged_fenced(daemon_actor* self, const std::string& name,
                   uint64_t incarnation);
/// Takes a new incarnation and rejoins.
void fence(daemon_actor* self, const std::string& why);
/// Fences this node if it did not run for longer than the failure timeout.
bool fence_if_stalled(daemon_actor* self);
/// Forgets the members that left or went down a while ago.
void forget_gone(daemon_actor* self, steady::time_point now);

// -- names (daemon_names.cpp) -------------------------------------------------

/// Tells the name subscribers who holds `name` now.
void name_changed(daemon_actor* self, const std::string& name);
/// Tells `daemon` (a member met anew) every name this node holds.
void announce_names(daemon_actor* self, const caf::actor& daemon);
caf::result<void> register_name(daemon_actor* self, const std::string& name,
                                const caf::actor& hdl, bool rebind);
void unregister_name(daemon_actor* self, const std::string& name,
                     const caf::actor_addr& addr);
void subscribe_names(daemon_actor* self, const caf::actor& listener);
/// A member announces a name (`hdl` set) ...
void on_name_entry(daemon_actor* self, const wire::NameEntry& x,
                   const caf::actor& hdl);
/// ... or drops one.
void on_name_drop(daemon_actor* self, const wire::NameEntry& x);
/// The node `nid` was met: the entries about its actors that waited for
/// that are applied now.
void on_node_met(daemon_actor* self, const caf::node_id& nid);
/// Drops the entries that waited longer than `forget_after` for their node.
void forget_unmet_names(daemon_actor* self, steady::time_point now);

// -- placement (daemon_placement.cpp) -------------------------------------------

/// Tells the node what this node hosts for others (see `core::hosted`).
void publish_hosted(daemon_state& st);
/// Stops the actors hosted here for `p`, which is gone.
void stop_orphans(daemon_actor* self, peer& p, member_status status);
/// Stops every actor hosted here for others (this node was fenced).
void stop_all_hosted(daemon_actor* self);
/// Drops the hosted actors that ended.
void drop_ended_hosted(daemon_state& st);
/// `spawn_atom`: places a new actor and spawns it there.
caf::result<caf::actor> spawn(daemon_actor* self, const std::string& type,
                              const std::string& where, int how,
                              const caf::message& args,
                              const std::vector<std::string>& excluded);
/// Another node asks this one to spawn an actor for it.
caf::result<caf::actor> on_spawn_request(daemon_actor* self,
                                         const std::string& type,
                                         const caf::message& args);

} // namespace troupe::cluster::daemon_detail
