#include "cluster/daemon.hpp"
#include "cluster/downing.hpp"
#include "cluster/joining.hpp"
#include "cluster/placing.hpp"
#include "cluster/link.hpp"
#include "cluster/liveness.hpp"
#include "cluster/tombstones.hpp"

#include <algorithm>
#include <chrono>
#include <map>

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>

#include <caf/actor_system.hpp>
#include <caf/blocking_actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>

#include "cluster/ref.hpp"
#include "transport/endpoint.hpp"
#include "troupe/error.hpp"
#include "troupe/log.hpp"
#include "troupe/endpoint.hpp"
#include "troupe/wire/cluster.pb.h"
#include "troupe/wire/node.pb.h"
#include "troupe/wire/proto.hpp"

namespace troupe::cluster {

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

using tick_atom = caf::atom_constant<caf::atom("trp_tick")>;
using connected_atom = caf::atom_constant<caf::atom("trp_conn")>;

/// The daemon's own name among the node's local names.
constexpr const char* daemon_name = "troupe.cluster";

// -- reaching another node ------------------------------------------------------

/// Whether a TCP connection to `host:port` opens within `timeout`. CAF's
/// middleman connects with a blocking connect(), which stalls every other
/// connect behind it for minutes when packets to a cut-off node are
/// dropped; probing first keeps rejoin attempts short.
bool probe(const std::string& host, uint16_t port,
           std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res)
      != 0)
    return false;
  bool ok = false;
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd >= 0) {
    int rc = ::connect(fd, res->ai_addr, res->ai_addrlen);
    if (rc == 0) {
      ok = true;
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, static_cast<int>(timeout.count())) == 1) {
        int err = 0;
        socklen_t len = sizeof(err);
        ok = ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0
             && err == 0;
      }
    }
    ::close(fd);
  }
  freeaddrinfo(res);
  return ok;
}

/// Connects to the node at `endpoint` on a thread of its own and sends the
/// daemon `(connected_atom, endpoint, peer_daemon_or_error)`.
void connector(caf::blocking_actor* self, caf::actor daemon,
               std::shared_ptr<transport::endpoint> net, std::string endpoint,
               std::chrono::milliseconds timeout) {
  auto fail = [&](std::string why) {
    self->send(daemon, connected_atom::value, endpoint,
               make_error(errc::connect_failed, std::move(why)));
  };
  auto ep = parse_endpoint(endpoint);
  if (!ep)
    return fail(describe(ep.error()));
  if (!probe(ep->first, ep->second, timeout))
    return fail(fmt::format("no answer from {}", endpoint));
  auto dir = net->connect(ep->first, ep->second);
  if (!dir)
    return fail(describe(dir.error()));
  wire::Lookup req;
  req.set_name(daemon_name);
  self->request(*dir, timeout, std::move(req))
    .receive(
      [&](const caf::actor& peer) {
        self->send(daemon, connected_atom::value, endpoint, peer);
      },
      [&](caf::error& err) { fail(describe(err)); });
}

// -- the daemon -------------------------------------------------------------------

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

  ~daemon_state() {
    if (live)
      live->stop();
  }
};

/// Tells the node what this node hosts for others (see `core::hosted`).
void publish_hosted(daemon_state& st) {
  std::vector<caf::actor_addr> xs;
  xs.reserve(st.hosted.size());
  for (auto& x : st.hosted)
    xs.emplace_back(x.addr);
  st.shared->set_hosted(std::move(xs));
}

using daemon_actor = caf::stateful_actor<daemon_state>;

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
  m.actor_types = c.factory_names();
  return m;
}

bool is_live(const peer& p) {
  return p.info.status == member_status::up;
}

/// Tells the name subscribers who holds `name` now.
void name_changed(daemon_actor* self, const std::string& name) {
  auto& st = self->state;
  if (st.name_subscribers.empty())
    return;
  name_event ev{name, st.shared->whereis(name)};
  for (auto& sub : st.name_subscribers)
    self->send(sub, ev);
}

/// Tells the subscribers that `changed` changed.
void notify(daemon_actor* self, const member& changed) {
  for (auto& sub : self->state.subscribers)
    self->send(sub, member_event{changed});
}

void prepare_heartbeats(daemon_actor* self);

/// Publishes the member list to the node's readers and tells subscribers
/// about `changed`.
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
  st.shared->set_members(std::move(all), std::move(unreachable),
                         std::move(ids));
  publish_hosted(st);
  prepare_heartbeats(self);
  if (changed)
    notify(self, *changed);
}

void announce_name(daemon_actor* self, const std::string& name,
                   const name_entry& e, const caf::actor& to) {
  wire::NameEntry x;
  x.set_name(name);
  x.set_owner(e.owner);
  x.set_owner_incarnation(e.owner_incarnation);
  x.set_stamp(e.stamp);
  self->send(to, std::move(x), e.hdl);
}

void broadcast_drop(daemon_actor* self, const std::string& name) {
  wire::NameEntry x;
  x.set_name(name);
  x.set_owner(self->state.shared->self_name);
  x.set_drop(true);
  for (auto& kvp : self->state.peers)
    if (is_live(kvp.second))
      self->send(kvp.second.daemon, x);
}

/// The member name of the node that runs `hdl`.
std::string owner_of(daemon_actor* self, const caf::actor& hdl) {
  if (hdl.node() == self->home_system().node())
    return self->state.shared->self_name;
  for (auto& kvp : self->state.peers)
    if (kvp.second.nid == hdl.node())
      return kvp.first;
  return {};
}

/// Drops the name when its actor ends (proxies end when their node goes).
void watch_name(daemon_actor* self, const std::string& name,
                const caf::actor& hdl) {
  hdl->attach_functor([daemon = caf::actor_cast<caf::weak_actor_ptr>(self),
                       name, addr = hdl.address()] {
    if (auto d = caf::actor_cast<caf::actor>(daemon))
      caf::anon_send(d, unregister_atom::value, name, addr);
  });
}

/// Applies a name entry; the loser of a conflict that runs on this node
/// is stopped, so that no two actors hold one name once nodes agree.
void apply_name(daemon_actor* self, const std::string& name, name_entry e) {
  auto& c = *self->state.shared;
  bool installed = false;
  auto hdl = e.hdl;
  auto loser = c.put_name(name, std::move(e), installed);
  if (installed) {
    watch_name(self, name, hdl);
    name_changed(self, name);
  }
  if (loser && loser->hdl && loser->hdl.node() == self->home_system().node()) {
    log(log_level::warn,
        fmt::format("cluster name '{}' was registered twice; the other "
                    "registration wins, stopping actor {} here",
                    name, loser->hdl.id()));
    self->send_exit(loser->hdl,
                    make_error(errc::name_conflict,
                               fmt::format("lost the cluster name '{}'",
                                           name)));
  }
}

void fence(daemon_actor* self, const std::string& why);

/// Stops the actors hosted here for `p`, which is gone.
void stop_orphans(daemon_actor* self, peer& p, member_status status) {
  auto& st = self->state;
  if (!p.nid)
    return;
  size_t n = 0;
  auto& xs = st.hosted;
  for (auto i = xs.begin(); i != xs.end();) {
    if (i->asked_by != p.nid) {
      ++i;
      continue;
    }
    if (auto hdl = caf::actor_cast<caf::actor>(i->addr)) {
      self->send_exit(hdl, make_error(errc::node_down,
                                      fmt::format("node '{}', which asked for "
                                                  "it, is {}",
                                                  p.info.name,
                                                  to_string(status))));
      ++n;
    }
    i = xs.erase(i);
  }
  if (n > 0)
    log(log_level::info, fmt::format("stopped {} actor(s) hosted for '{}', "
                                     "which is {}: their supervisor is gone",
                                     n, p.info.name, to_string(status)));
}

/// Marks `p` down: fails the requests pending on it, drops its names.
void mark_down(daemon_actor* self, peer& p, member_status status,
               const std::string& why) {
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
  // Readers see the node as unreachable before its flow closes, so no
  // message slips through uncounted in between.
  publish(self, nullptr);
  if (p.nid) {
    c.flow_close(p.nid);
    auto n = c.fail_pending(p.nid, make_error(errc::node_down,
                                              fmt::format("node '{}' is {}",
                                                          p.info.name,
                                                          to_string(status))));
    if (n > 0)
      log(log_level::info, fmt::format("failed {} request(s) pending on '{}'",
                                       n, p.info.name));
  }
  for (auto& name : c.drop_names_of(p.info.name)) {
    name_changed(self, name);
    log(log_level::info, fmt::format("cluster name '{}' released: its node "
                                     "'{}' is {}",
                                     name, p.info.name, to_string(status)));
  }
  stop_orphans(self, p, status);
  // Subscribers hear of it once names and requests are settled.
  notify(self, p.info);
}

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
  p.unreachable = went_silent(last, dropped, st.shared->fd.failure_timeout);
  p.down_at = steady::now();
  auto why = p.unreachable
               ? fmt::format("no heartbeat for {} ms",
                             std::chrono::duration_cast<
                               std::chrono::milliseconds>(silent)
                               .count())
               : fmt::format("connection lost ({})", describe(reason));
  mark_down(self, p, member_status::down, why);
  if (p.unreachable && in_minority(self))
    fence(self, fmt::format("this node can no longer reach a majority of "
                            "the cluster (lost '{}': {})",
                            p.info.name, why));
}

void try_join(daemon_actor* self);

/// Stops what this node hosts for others, forgets the cluster, takes a new
/// incarnation and rejoins: the rest of the cluster has marked (or will
/// mark) this incarnation down and restarted its work elsewhere.
void fence(daemon_actor* self, const std::string& why) {
  auto& st = self->state;
  auto& c = *st.shared;
  auto old = c.incarnation.load();
  auto next = std::max(old + 1, static_cast<uint64_t>(
                                  std::chrono::duration_cast<
                                    std::chrono::microseconds>(
                                    std::chrono::system_clock::now()
                                      .time_since_epoch())
                                    .count()));
  log(log_level::error,
      fmt::format("node '{}' is fenced: {}; stopping {} actor(s) it hosts "
                  "for other nodes and rejoining as incarnation {}",
                  c.self_name, why, st.hosted.size(), next));
  ++c.fenced;
  for (auto& x : st.hosted)
    if (auto hdl = caf::actor_cast<caf::actor>(x.addr))
      self->send_exit(hdl, make_error(errc::fenced,
                                      "its node was fenced by the cluster"));
  st.hosted.clear();
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
  for (auto& kvp : c.names())
    if (kvp.second.owner != c.self_name)
      if (c.drop_name(kvp.first, caf::actor_addr{}))
        name_changed(self, kvp.first);
  c.incarnation = next;
  c.reown_names(c.self_name, next);
  publish(self, nullptr);
  try_join(self);
}

void connect_to(daemon_actor* self, const std::string& endpoint) {
  auto& st = self->state;
  if (endpoint == self_endpoint(self)
      || std::find(st.connecting.begin(), st.connecting.end(), endpoint)
           != st.connecting.end())
    return;
  st.connecting.emplace_back(endpoint);
  auto timeout = std::max(st.shared->fd.failure_timeout / 2,
                          std::chrono::milliseconds{200});
  self->home_system().spawn(connector, caf::actor{self}, st.shared->net,
                            endpoint, timeout);
}

/// Contacts the seeds (and, after a fence, the members it knew).
void try_join(daemon_actor* self) {
  auto& st = self->state;
  st.last_join_attempt = steady::now();
  std::vector<std::string> targets = st.seeds;
  targets.insert(targets.end(), st.remembered.begin(), st.remembered.end());
  std::sort(targets.begin(), targets.end());
  targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
  targets.erase(std::remove(targets.begin(), targets.end(),
                            self_endpoint(self)),
                targets.end());
  st.join_targets = targets;
  for (auto& t : targets)
    connect_to(self, t);
  if (targets.empty())
    for (auto& rp : std::exchange(st.join_waiters, {}))
      rp.deliver(false);
}

/// Notes the outcome of contacting `endpoint`; answers the `join_atom`
/// requests once one seed welcomed this node or all of them failed.
void join_attempt_done(daemon_actor* self, const std::string& endpoint,
                       bool welcomed) {
  auto& st = self->state;
  auto i = std::find(st.join_targets.begin(), st.join_targets.end(), endpoint);
  if (i == st.join_targets.end() && !welcomed)
    return;
  if (i != st.join_targets.end())
    st.join_targets.erase(i);
  if (welcomed || st.join_targets.empty())
    for (auto& rp : std::exchange(st.join_waiters, {}))
      rp.deliver(welcomed);
}

wire::Join make_join(daemon_actor* self) {
  wire::Join j;
  *j.mutable_member() = to_wire(self_member(self));
  auto& fd = self->state.shared->fd;
  j.set_heartbeat_ms(static_cast<uint32_t>(fd.heartbeat_interval.count()));
  j.set_failure_timeout_ms(static_cast<uint32_t>(fd.failure_timeout.count()));
  return j;
}

/// Tells `daemon` (a member met anew) the names this node owns.
void announce_own_names(daemon_actor* self, const caf::actor& daemon) {
  auto& c = *self->state.shared;
  for (auto& kvp : c.names())
    if (kvp.second.owner == c.self_name)
      announce_name(self, kvp.first, kvp.second, daemon);
}

/// Adds (or renews) `m` as an up member reached through `daemon`. Returns
/// whether it was met anew (not a renewal): then it is to hear this node's
/// names (`announce_own_names`), once it lists this node as up.
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
    self->monitor(daemon);
    // Flow control towards the peer starts once its flow actor is known.
    if (st.shared->flow_actor) {
      wire::FlowHello hello;
      if (auto& links = st.shared->links; links && links->port() != 0) {
        hello.set_link_host(st.shared->host);
        hello.set_link_port(links->port());
      }
      self->send(daemon, std::move(hello), st.shared->flow_actor);
    }
    log(log_level::info, fmt::format("member '{}' (incarnation {}) at {} is "
                                     "up",
                                     m.name, m.incarnation, endpoint_of(m)));
    publish(self, &p.info);
  }
  return !renewed;
}

/// Returns an error when a joiner must be refused; fences stale ones.
caf::error check_joiner(daemon_actor* self, const wire::Join& j) {
  auto& c = *self->state.shared;
  return cluster::check_joiner(c.self_name, c.fd,
                               {j.member().name(), j.heartbeat_ms(),
                                j.failure_timeout_ms()});
}

/// Whether a message from `name`/`incarnation` comes from a fenced
/// incarnation (one this node marked down, or an older one).
bool is_fenced(daemon_actor* self, const std::string& name,
               uint64_t incarnation) {
  auto i = self->state.peers.find(name);
  if (i == self->state.peers.end()) {
    auto t = self->state.graves.find(name);
    return t != nullptr && incarnation <= t->incarnation;
  }
  auto& p = i->second;
  return incarnation < p.info.incarnation
         || (incarnation == p.info.incarnation
             && p.info.status == member_status::down);
}

/// Whether to tell `name`/`incarnation` that it is fenced: it is, and not
/// only because this node marked it down before it was fenced itself (a
/// frozen node that wakes up would otherwise fence the healthy members
/// whose heartbeats reach it before it has met them again).
bool judged_fenced(daemon_actor* self, const std::string& name,
                   uint64_t incarnation) {
  if (!is_fenced(self, name, incarnation))
    return false;
  auto i = self->state.peers.find(name);
  if (i == self->state.peers.end()) {
    auto t = self->state.graves.find(name);
    return incarnation < t->incarnation || !t->by_own_fence;
  }
  auto& p = i->second;
  return incarnation < p.info.incarnation || !p.down_by_own_fence;
}

/// Hands the liveness thread the heartbeat of this incarnation and the
/// members to send it to (it goes out every heartbeat interval from there).
void prepare_heartbeats(daemon_actor* self) {
  auto& st = self->state;
  if (!st.live)
    return;
  auto me = self_member(self);
  wire::Heartbeat hb;
  hb.set_name(me.name);
  hb.set_incarnation(me.incarnation);
  hb.set_load(me.load);
  for (auto& t : me.actor_types)
    hb.add_actor_types(t);
  std::vector<caf::actor> to;
  for (auto& kvp : st.peers)
    if (is_live(kvp.second)) {
      *hb.add_members() = to_wire(kvp.second.info);
      to.emplace_back(kvp.second.daemon);
    }
  st.live->set_heartbeat(caf::make_message(std::move(hb)), std::move(to));
}

/// Forgets the members that left or went down a while ago (see
/// tombstones.hpp); the subscribers hear `member_status::removed`.
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

void on_tick(daemon_actor* self) {
  auto& st = self->state;
  auto& fd = st.shared->fd;
  auto now = steady::now();
  fence_if_stalled(self);
  bool alone = std::none_of(st.peers.begin(), st.peers.end(),
                            [](auto& kvp) { return is_live(kvp.second); });
  if (alone && st.connecting.empty()
      && now - st.last_join_attempt >= std::max(fd.failure_timeout, 1000ms)
      && (!st.seeds.empty() || !st.remembered.empty()))
    try_join(self);
  else if (!alone && now - st.last_seed_visit >= std::max(fd.failure_timeout
                                                            * 2,
                                                          2000ms)) {
    // A seed that is not a live member may be back as a new process that
    // started a cluster of its own: visit it, and the two clusters become
    // one again (the seed learns the members from this node's welcome).
    st.last_seed_visit = now;
    for (auto& seed : st.seeds)
      if (std::none_of(st.peers.begin(), st.peers.end(), [&](auto& kvp) {
            return is_live(kvp.second) && endpoint_of(kvp.second.info) == seed;
          }))
        connect_to(self, seed);
  }
  forget_gone(self, now);
  st.shared->expire_pending(std::chrono::minutes{10});
  st.hosted.erase(std::remove_if(st.hosted.begin(), st.hosted.end(),
                                 [](const hosted_actor& x) {
                                   return caf::actor_cast<caf::actor>(x.addr)
                                          == nullptr;
                                 }),
                  st.hosted.end());
  publish(self, nullptr);
  self->delayed_send(self, fd.heartbeat_interval, tick_atom::value);
}

caf::actor spawn_here(daemon_actor* self, const std::string& type,
                      const caf::message& args, caf::error& err) {
  auto f = self->state.shared->factory(type);
  if (!f) {
    err = make_error(errc::spawn_failed,
                     fmt::format("no actor type '{}' on node '{}'", type,
                                 self->state.shared->self_name));
    return {};
  }
  caf::actor hdl;
  try {
    hdl = f(self->home_system(), args);
  } catch (std::exception& e) {
    err = make_error(errc::spawn_failed,
                     fmt::format("factory of '{}' threw: {}", type, e.what()));
    return {};
  }
  if (!hdl)
    err = make_error(errc::spawn_failed,
                     fmt::format("factory of '{}' returned no actor", type));
  return hdl;
}

/// The member a new actor goes to; empty when none is live.
std::string choose(daemon_actor* self, const std::string& type,
                   placement how, const std::vector<std::string>& excluded) {
  auto& st = self->state;
  auto mine = self_member(self);
  std::vector<host_offer> others;
  for (auto& kvp : st.peers) {
    auto& p = kvp.second;
    // A proxy that died has lost its node, even if the daemon has not
    // processed that yet.
    if (is_live(p)
        && !caf::actor_cast<caf::abstract_actor*>(p.daemon)->getf(
          caf::abstract_actor::is_terminated_flag))
      others.push_back({kvp.first, p.info.load, p.info.actor_types});
  }
  return choose_host(type, how,
                     {st.shared->self_name, mine.load, mine.actor_types},
                     others, excluded, st.round_robin);
}

caf::behavior daemon(daemon_actor* self, daemon_config cfg) {
  auto& st = self->state;
  st.shared = std::move(cfg.shared);
  st.seeds = std::move(cfg.seeds);
  st.last_join_attempt = steady::now();
  publish(self, nullptr);
  self->set_down_handler([self](caf::down_msg& dm) {
    if (fence_if_stalled(self))
      return;
    auto dropped = self->state.live->take_down(dm.source)
                     .value_or(steady::now());
    for (auto& kvp : self->state.peers)
      if (kvp.second.daemon.address() == dm.source && is_live(kvp.second)) {
        handle_peer_down(self, kvp.second, dm.reason, dropped);
        return;
      }
  });
  self->delayed_send(self, st.shared->fd.heartbeat_interval, tick_atom::value);
  return {
    // -- local requests -------------------------------------------------------
    [self](join_atom, const std::string& endpoint) -> caf::result<bool> {
      auto& st = self->state;
      if (std::find(st.seeds.begin(), st.seeds.end(), endpoint)
          == st.seeds.end())
        st.seeds.emplace_back(endpoint);
      auto rp = self->make_response_promise<bool>();
      st.join_waiters.emplace_back(rp);
      try_join(self);
      return rp;
    },
    [self](join_atom) -> caf::result<bool> {
      auto& st = self->state;
      auto rp = self->make_response_promise<bool>();
      st.join_waiters.emplace_back(rp);
      try_join(self);
      return rp;
    },
    [self](register_atom, const std::string& name, const caf::actor& hdl,
           bool rebind) -> caf::result<void> {
      auto& st = self->state;
      auto& c = *st.shared;
      auto owner = owner_of(self, hdl);
      if (owner.empty())
        return make_error(errc::name_taken,
                          fmt::format("cannot register '{}': the actor is "
                                      "on a node outside the cluster",
                                      name));
      if (auto old = c.entry(name); old && old->hdl != hdl && !rebind
                                    && caf::actor_cast<caf::abstract_actor*>(
                                         old->hdl)
                                    && !caf::actor_cast<caf::abstract_actor*>(
                                          old->hdl)
                                          ->getf(caf::abstract_actor::
                                                   is_terminated_flag))
        return make_error(errc::name_taken,
                          fmt::format("cluster name '{}' is held by actor {} "
                                      "on '{}'",
                                      name, old->hdl.id(), old->owner));
      name_entry e;
      e.hdl = hdl;
      e.owner = owner;
      e.owner_incarnation = owner == c.self_name
                              ? c.incarnation.load()
                              : st.peers[owner].info.incarnation;
      auto now_us = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
      st.last_stamp = e.stamp = std::max(now_us, st.last_stamp + 1);
      apply_name(self, name, e);
      for (auto& kvp : st.peers)
        if (is_live(kvp.second))
          announce_name(self, name, e, kvp.second.daemon);
      return caf::unit;
    },
    [self](unregister_atom, const std::string& name,
           const caf::actor_addr& addr) {
      if (self->state.shared->drop_name(name, addr)) {
        name_changed(self, name);
        broadcast_drop(self, name);
      }
    },
    [self](subscribe_names_atom, const caf::actor& listener) {
      auto& st = self->state;
      st.name_subscribers.emplace_back(listener);
      for (auto& kvp : st.shared->names())
        self->send(listener, name_event{kvp.first, kvp.second.hdl});
    },
    [self](subscribe_atom, const caf::actor& listener) {
      self->state.subscribers.emplace_back(listener);
      for (auto& m : self->state.shared->members())
        self->send(listener, member_event{m});
    },
    [self](leave_atom) {
      auto& st = self->state;
      wire::Leave l;
      l.set_name(st.shared->self_name);
      l.set_incarnation(st.shared->incarnation.load());
      for (auto& kvp : st.peers)
        if (is_live(kvp.second))
          self->send(kvp.second.daemon, l);
      log(log_level::info, fmt::format("node '{}' left the cluster",
                                       st.shared->self_name));
      return caf::unit;
    },
    [self](spawn_atom, const std::string& type, const std::string& where,
           int how, const caf::message& args,
           const std::vector<std::string>& excluded)
      -> caf::result<caf::actor> {
      auto& st = self->state;
      auto target = where.empty() ? choose(self, type,
                                           static_cast<placement>(how),
                                           excluded)
                                  : where;
      if (target.empty())
        return make_error(errc::spawn_failed,
                          fmt::format("no live node that hosts '{}' to place "
                                      "it on",
                                      type));
      if (target == st.shared->self_name) {
        caf::error err;
        auto hdl = spawn_here(self, type, args, err);
        if (!hdl)
          return err;
        log(log_level::info, fmt::format("spawned a '{}' on '{}'", type,
                                         target));
        return hdl;
      }
      auto i = st.peers.find(target);
      if (i == st.peers.end() || !is_live(i->second))
        return make_error(errc::node_down,
                          fmt::format("node '{}' is not up", target));
      auto rp = self->make_response_promise<caf::actor>();
      wire::SpawnRequest req;
      req.set_type(type);
      self->request(i->second.ref, std::chrono::seconds{5}, std::move(req),
                    args)
        .then(
          [self, rp, type, target](const caf::actor& hdl) mutable {
            log(log_level::info, fmt::format("spawned a '{}' on '{}'", type,
                                             target));
            rp.deliver(hdl);
          },
          [self, rp, type, where, how, args, excluded,
           target](caf::error& err) mutable {
            // Placed on a node that just went down: place it elsewhere.
            if (where.empty() && err.category() == error_category
                && err.code() == static_cast<uint8_t>(errc::node_down)) {
              auto more = excluded;
              more.emplace_back(target);
              rp.delegate(caf::actor{self}, spawn_atom::value, type, where,
                          how, args, std::move(more));
              return;
            }
            rp.deliver(std::move(err));
          });
      return rp;
    },
    // -- connecting -------------------------------------------------------------
    [self](peer_at_atom, const std::string& endpoint) {
      for (auto& kvp : self->state.peers)
        if (is_live(kvp.second) && endpoint_of(kvp.second.info) == endpoint)
          return kvp.second.daemon;
      return caf::actor{};
    },
    [self](const wire::Lookup& req) {
      return self->delegate(self->state.shared->directory, req);
    },
    [self](connected_atom, const std::string& endpoint,
           const caf::actor& peer_daemon) {
      auto& st = self->state;
      st.connecting.erase(std::remove(st.connecting.begin(),
                                      st.connecting.end(), endpoint),
                          st.connecting.end());
      self->request(peer_daemon, std::chrono::seconds{5}, make_join(self),
                    caf::actor{self})
        .then(
          [self, endpoint, peer_daemon](const wire::Welcome& w) {
            auto& st = self->state;
            st.remembered.clear();
            for (auto& x : w.members()) {
              auto m = from_wire(x);
              if (m.name == st.shared->self_name)
                continue;
              if (endpoint_of(m) == endpoint) {
                // The peer listed this node as up before it welcomed it.
                if (add_peer(self, m, peer_daemon))
                  announce_own_names(self, peer_daemon);
              }
              else if (m.status == member_status::up
                       && !st.peers.count(m.name)
                       && !is_fenced(self, m.name, m.incarnation))
                connect_to(self, endpoint_of(m));
              else if (m.status == member_status::up
                       && !is_live(st.peers[m.name]))
                connect_to(self, endpoint_of(m));
            }
            if (std::find(st.join_targets.begin(), st.join_targets.end(),
                          endpoint)
                != st.join_targets.end())
              log(log_level::info,
                  fmt::format("node '{}' joined the cluster through {} ({} "
                              "members)",
                              st.shared->self_name, endpoint,
                              w.members_size()));
            join_attempt_done(self, endpoint, true);
          },
          [self, endpoint](caf::error& err) {
            if (err == make_error(errc::fenced)
                || (err.category() == error_category
                    && err.code() == static_cast<uint8_t>(errc::fenced))) {
              fence(self, fmt::format("{} says: {}", endpoint,
                                      describe(err)));
              return;
            }
            log(log_level::warn,
                fmt::format("node '{}': joining through {} failed: {}",
                            self->state.shared->self_name, endpoint,
                            describe(err)));
            join_attempt_done(self, endpoint, false);
          });
    },
    [self](connected_atom, const std::string& endpoint, caf::error& err) {
      auto& st = self->state;
      st.connecting.erase(std::remove(st.connecting.begin(),
                                      st.connecting.end(), endpoint),
                          st.connecting.end());
      if (std::find(st.join_targets.begin(), st.join_targets.end(), endpoint)
          != st.join_targets.end())
        log(log_level::warn, fmt::format("node '{}': seed {} unreachable: {}",
                                         st.shared->self_name, endpoint,
                                         describe(err)));
      join_attempt_done(self, endpoint, false);
    },
    // -- other daemons ------------------------------------------------------------
    [self](const wire::Join& j,
           const caf::actor& joiner) -> caf::result<wire::Welcome> {
      auto& st = self->state;
      fence_if_stalled(self);
      if (auto err = check_joiner(self, j)) {
        log(log_level::error, fmt::format("refusing to let '{}' join: {}",
                                          j.member().name(), describe(err)));
        return err;
      }
      auto m = from_wire(j.member());
      if (judged_fenced(self, m.name, m.incarnation))
        return make_error(errc::fenced,
                          fmt::format("incarnation {} of '{}' was marked down",
                                      m.incarnation, m.name));
      auto i = st.peers.find(m.name);
      if (i != st.peers.end() && i->second.info.incarnation != m.incarnation)
        mark_down(self, i->second, member_status::down,
                  fmt::format("replaced by incarnation {}", m.incarnation));
      bool met = add_peer(self, m, joiner);
      wire::Welcome w;
      *w.add_members() = to_wire(self_member(self));
      for (auto& kvp : st.peers)
        *w.add_members() = to_wire(kvp.second.info);
      if (!met)
        return w;
      // The names go after the welcome: a joiner that is a fenced node
      // rejoining still lists this node as down under this very
      // incarnation until the welcome, and drops names it hears from it
      // before (`is_fenced`) -- for good, since nothing announces them
      // again.
      auto rp = self->make_response_promise<wire::Welcome>();
      rp.deliver(std::move(w));
      announce_own_names(self, joiner);
      return rp;
    },
    [self](const wire::Heartbeat& hb) {
      auto& st = self->state;
      if (fence_if_stalled(self))
        return;
      if (is_fenced(self, hb.name(), hb.incarnation())) {
        if (!judged_fenced(self, hb.name(), hb.incarnation()))
          return; // met again through this node's rejoin
        wire::Fenced f;
        f.set_reason(fmt::format("incarnation {} of '{}' was marked down",
                                 hb.incarnation(), hb.name()));
        if (auto sender = caf::actor_cast<caf::actor>(self->current_sender()))
          self->send(sender, std::move(f));
        return;
      }
      auto i = st.peers.find(hb.name());
      if (i == st.peers.end() || i->second.info.incarnation != hb.incarnation())
        return;
      i->second.last_heard = st.live->last_heard(hb.name(), hb.incarnation())
                                .value_or(steady::now());
      i->second.info.load = hb.load();
      i->second.info.actor_types.assign(hb.actor_types().begin(),
                                        hb.actor_types().end());
      // Members the sender knows and this node does not: the node with
      // the smaller name connects, so two nodes never dial each other.
      for (auto& x : hb.members()) {
        auto m = from_wire(x);
        if (m.name == st.shared->self_name || m.status != member_status::up)
          continue;
        auto j = st.peers.find(m.name);
        auto grave = st.graves.find(m.name);
        // A member this node marked down (or buried) only when or before
        // it was fenced itself is not known: that judgement is void, and a
        // rejoiner whose first dial of it failed must dial it again (the
        // other side, the larger name, waits to be dialed).
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
    },
    [self](const wire::FlowHello& hello, const caf::actor& echo) {
      if (echo)
        self->state.shared->flow_open(
          echo.node(), echo, hello.link_host(),
          static_cast<uint16_t>(std::min<uint32_t>(hello.link_port(), 65535)));
    },
    [self](const wire::Fenced& f) {
      fence(self, fmt::format("a member says: {}", f.reason()));
    },
    [self](const wire::Leave& l) {
      auto i = self->state.peers.find(l.name());
      if (i != self->state.peers.end()
          && i->second.info.incarnation == l.incarnation())
        mark_down(self, i->second, member_status::left, "left the cluster");
    },
    [self](const wire::NameEntry& x, const caf::actor& hdl) {
      // An entry about an actor of this node that ended while the entry
      // was on its way arrives with no handle (CAF finds no actor under
      // its id): nothing to bind, its own drop follows.
      if (!hdl)
        return;
      name_entry e;
      e.hdl = hdl;
      e.owner = x.owner();
      e.owner_incarnation = x.owner_incarnation();
      e.stamp = x.stamp();
      if (is_fenced(self, x.owner(), x.owner_incarnation()))
        return;
      apply_name(self, x.name(), std::move(e));
    },
    [self](const wire::NameEntry& x) {
      if (!x.drop())
        return;
      auto e = self->state.shared->entry(x.name());
      if (e && e->owner == x.owner())
        if (self->state.shared->drop_name(x.name(), caf::actor_addr{}))
          name_changed(self, x.name());
    },
    [self](const wire::SpawnRequest& req,
           const caf::message& args) -> caf::result<caf::actor> {
      caf::error err;
      auto hdl = spawn_here(self, req.type(), args, err);
      if (!hdl)
        return err;
      auto& st = self->state;
      auto& sender = self->current_sender();
      st.hosted.push_back({sender ? sender->node() : caf::node_id{},
                           hdl.address()});
      // Published at once, not at the next tick: a node that shuts down
      // right after it stops what it hosts with `errc::node_left`.
      publish_hosted(st);
      return hdl;
    },
    [self](tick_atom) { on_tick(self); },
  };
}

} // namespace

caf::behavior daemon_impl::make_behavior() {
  state.live = live_;
  live_->start(caf::actor_cast<caf::weak_actor_ptr>(this));
  return daemon(this, std::move(cfg_));
}

caf::actor spawn_daemon(caf::actor_system& sys, daemon_config cfg) {
  return sys.spawn<daemon_impl>(std::move(cfg));
}

} // namespace troupe::cluster
