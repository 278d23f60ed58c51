// SPDX-License-Identifier: Apache-2.0
// Joining: reaching seeds and members on a thread of their own, the Join
// this node sends and the Welcome it gets, and the Join another node sends
// here. Who may join and whom to contact are pure (joining.hpp).
#include "cluster/daemon_state.hpp"
#include "cluster/joining.hpp"
#include "cluster/link.hpp"

#include <algorithm>
#include <chrono>

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>

#include <caf/actor_system.hpp>
#include <caf/blocking_actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>

#include "transport/endpoint.hpp"
#include "troupe/endpoint.hpp"
#include "troupe/error.hpp"
#include "troupe/log.hpp"
#include "troupe/wire/cluster.pb.h"
#include "troupe/wire/node.pb.h"
#include "troupe/wire/proto.hpp"

namespace troupe::cluster::daemon_detail {

namespace {

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

// -- joining through a seed -------------------------------------------------------

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
  j.set_gossip(fd.gossip);
  tell_own_link(self, j);
  return j;
}

/// Notes where `nid`'s direct links listen, before it is published as a
/// member (see Join in cluster.proto).
void learn_link(daemon_actor* self, const caf::node_id& nid,
                const std::string& host, uint32_t port) {
  if (auto& links = self->state.shared->links; links && port != 0)
    links->learn(nid, host, link_port_of(port));
}

void drop_connecting(daemon_state& st, const std::string& endpoint) {
  st.connecting.erase(std::remove(st.connecting.begin(), st.connecting.end(),
                                  endpoint),
                      st.connecting.end());
}

/// The member at `endpoint` welcomed this node: takes it as a member and
/// connects to the members it lists that this node does not reach.
void on_welcome(daemon_actor* self, const std::string& endpoint,
                const caf::actor& peer_daemon, const wire::Welcome& w) {
  auto& st = self->state;
  st.remembered.clear();
  for (auto& x : w.members()) {
    auto m = from_wire(x);
    if (m.name == st.shared->self_name)
      continue;
    if (endpoint_of(m) == endpoint) {
      // The peer listed this node as up before it welcomed it.
      learn_link(self, peer_daemon.node(), w.link_host(), w.link_port());
      if (add_peer(self, m, peer_daemon))
        announce_names(self, peer_daemon);
    }
    else if (m.status == member_status::up) {
      // A member we do not know yet, unless we buried that incarnation;
      // or one we know that is not live. (Looked up, not indexed: indexing
      // made a blank peer for a buried one, published with no name.)
      auto i = st.peers.find(m.name);
      if (i == st.peers.end() ? !is_fenced(self, m.name, m.incarnation)
                              : !is_live(i->second))
        connect_to(self, endpoint_of(m));
    }
  }
  if (std::find(st.join_targets.begin(), st.join_targets.end(), endpoint)
      != st.join_targets.end())
    log(log_level::info,
        fmt::format("node '{}' joined the cluster through {} ({} "
                    "members)",
                    st.shared->self_name, endpoint, w.members_size()));
  join_attempt_done(self, endpoint, true);
}

/// The member at `endpoint` refused this node (or did not answer); a
/// member that says this incarnation is fenced is believed.
void on_join_failed(daemon_actor* self, const std::string& endpoint,
                    const caf::error& err) {
  if (err == make_error(errc::fenced)
      || (err.category() == error_category
          && err.code() == static_cast<uint8_t>(errc::fenced))) {
    fence(self, fmt::format("{} says: {}", endpoint, describe(err)));
    return;
  }
  log(log_level::warn,
      fmt::format("node '{}': joining through {} failed: {}",
                  self->state.shared->self_name, endpoint, describe(err)));
  join_attempt_done(self, endpoint, false);
}

/// Returns an error when a joiner must be refused.
caf::error check_joiner(daemon_actor* self, const wire::Join& j) {
  auto& c = *self->state.shared;
  return cluster::check_joiner(c.self_name, c.fd,
                               {j.member().name(), j.heartbeat_ms(),
                                j.failure_timeout_ms(), j.gossip()});
}

} // namespace

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

void try_join(daemon_actor* self) {
  auto& st = self->state;
  st.last_join_attempt = steady::now();
  auto targets = join_targets(st.seeds, st.remembered, self_endpoint(self));
  st.join_targets = targets;
  for (auto& t : targets)
    connect_to(self, t);
  if (targets.empty())
    for (auto& rp : std::exchange(st.join_waiters, {}))
      rp.deliver(false);
}

void add_seed(daemon_actor* self, const std::string& endpoint) {
  auto& st = self->state;
  if (std::find(st.seeds.begin(), st.seeds.end(), endpoint) == st.seeds.end())
    st.seeds.emplace_back(endpoint);
}

caf::typed_response_promise<bool> request_join(daemon_actor* self) {
  auto rp = self->make_response_promise<bool>();
  self->state.join_waiters.emplace_back(rp);
  try_join(self);
  return rp;
}

void on_connected(daemon_actor* self, const std::string& endpoint,
                  const caf::actor& peer_daemon) {
  drop_connecting(self->state, endpoint);
  self->request(peer_daemon, std::chrono::seconds{5}, make_join(self),
                caf::actor{self})
    .then(
      [self, endpoint, peer_daemon](const wire::Welcome& w) {
        on_welcome(self, endpoint, peer_daemon, w);
      },
      [self, endpoint](caf::error& err) {
        on_join_failed(self, endpoint, err);
      });
}

void on_connect_failed(daemon_actor* self, const std::string& endpoint,
                       const caf::error& err) {
  auto& st = self->state;
  drop_connecting(st, endpoint);
  if (std::find(st.join_targets.begin(), st.join_targets.end(), endpoint)
      != st.join_targets.end())
    log(log_level::warn, fmt::format("node '{}': seed {} unreachable: {}",
                                     st.shared->self_name, endpoint,
                                     describe(err)));
  join_attempt_done(self, endpoint, false);
}

caf::result<wire::Welcome> on_join(daemon_actor* self, const wire::Join& j,
                                   const caf::actor& joiner) {
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
  learn_link(self, joiner.node(), j.link_host(), j.link_port());
  bool met = add_peer(self, m, joiner);
  wire::Welcome w;
  *w.add_members() = to_wire(self_member(self));
  tell_own_link(self, w);
  for (auto& kvp : st.peers)
    *w.add_members() = to_wire(kvp.second.info);
  if (!met)
    return w;
  // The names go after the welcome: a joiner that is a fenced node
  // rejoining still lists this node as down under this very incarnation
  // until the welcome, and drops names it hears from it before
  // (`is_fenced`) -- for good, since nothing announces them again.
  auto rp = self->make_response_promise<wire::Welcome>();
  rp.deliver(std::move(w));
  announce_names(self, joiner);
  return rp;
}

} // namespace troupe::cluster::daemon_detail
