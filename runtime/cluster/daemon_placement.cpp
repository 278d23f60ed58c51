// SPDX-License-Identifier: Apache-2.0
// Placement: where a new actor goes (the rule is placing.hpp's), spawning
// it here or asking another member, and the actors this node hosts for
// others, which go when the node that asked is lost or this node is fenced.
#include "cluster/daemon_state.hpp"
#include "cluster/placing.hpp"

#include <algorithm>
#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>

#include "troupe/error.hpp"
#include "troupe/log.hpp"
#include "troupe/wire/cluster.pb.h"
#include "troupe/wire/proto.hpp"

namespace troupe::cluster::daemon_detail {

namespace {

caf::actor spawn_here(daemon_actor* self, const std::string& type,
                      const caf::message& args, caf::error& err) {
  auto f = self->state.shared->types.find(type);
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

/// Asks the live member `target` to spawn a `type`; one that goes down
/// meanwhile is excluded and the actor placed again (unless `where` named
/// the member).
caf::result<caf::actor> spawn_on(daemon_actor* self, const peer& target_peer,
                                 const std::string& target,
                                 const std::string& type,
                                 const std::string& where, int how,
                                 const caf::message& args,
                                 const std::vector<std::string>& excluded) {
  auto rp = self->make_response_promise<caf::actor>();
  wire::SpawnRequest req;
  req.set_type(type);
  self->request(target_peer.ref, std::chrono::seconds{5}, std::move(req),
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
          rp.delegate(caf::actor{self}, spawn_atom::value, type, where, how,
                      args, std::move(more));
          return;
        }
        rp.deliver(std::move(err));
      });
  return rp;
}

} // namespace

void publish_hosted(daemon_state& st) {
  std::vector<caf::actor_addr> xs;
  xs.reserve(st.hosted.size());
  for (auto& x : st.hosted)
    xs.emplace_back(x.addr);
  st.shared->view.set_hosted(std::move(xs));
}

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

void stop_all_hosted(daemon_actor* self) {
  auto& st = self->state;
  for (auto& x : st.hosted)
    if (auto hdl = caf::actor_cast<caf::actor>(x.addr))
      self->send_exit(hdl, make_error(errc::fenced,
                                      "its node was fenced by the cluster"));
  st.hosted.clear();
}

void drop_ended_hosted(daemon_state& st) {
  st.hosted.erase(std::remove_if(st.hosted.begin(), st.hosted.end(),
                                 [](const hosted_actor& x) {
                                   return caf::actor_cast<caf::actor>(x.addr)
                                          == nullptr;
                                 }),
                  st.hosted.end());
}

caf::result<caf::actor> spawn(daemon_actor* self, const std::string& type,
                              const std::string& where, int how,
                              const caf::message& args,
                              const std::vector<std::string>& excluded) {
  auto& st = self->state;
  auto target = where.empty() ? choose(self, type,
                                       static_cast<placement>(how), excluded)
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
    log(log_level::info, fmt::format("spawned a '{}' on '{}'", type, target));
    return hdl;
  }
  auto i = st.peers.find(target);
  if (i == st.peers.end() || !is_live(i->second))
    return make_error(errc::node_down,
                      fmt::format("node '{}' is not up", target));
  return spawn_on(self, i->second, target, type, where, how, args, excluded);
}

caf::result<caf::actor> on_spawn_request(daemon_actor* self,
                                         const std::string& type,
                                         const caf::message& args) {
  caf::error err;
  auto hdl = spawn_here(self, type, args, err);
  if (!hdl)
    return err;
  auto& st = self->state;
  auto& sender = self->current_sender();
  st.hosted.push_back({sender ? sender->node() : caf::node_id{},
                       hdl.address()});
  // Published at once, not at the next tick: a node that shuts down right
  // after it stops what it hosts with `errc::node_left`.
  publish_hosted(st);
  return hdl;
}

} // namespace troupe::cluster::daemon_detail
