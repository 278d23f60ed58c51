// SPDX-License-Identifier: Apache-2.0
// The cluster-wide names: registering and dropping them here, announcing
// them to the members, applying what members announce (the table and its
// conflict rule are core.hpp's), and telling the name subscribers.
#include "cluster/daemon_state.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

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
  auto loser = c.names.put(name, std::move(e), installed);
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

/// Whether `old` is an entry for another actor that still runs (and so
/// keeps its name unless the registration rebinds it).
bool held_by_other(const std::optional<name_entry>& old,
                   const caf::actor& hdl) {
  return old && old->hdl != hdl
         && caf::actor_cast<caf::abstract_actor*>(old->hdl)
         && !caf::actor_cast<caf::abstract_actor*>(old->hdl)->getf(
           caf::abstract_actor::is_terminated_flag);
}

} // namespace

void name_changed(daemon_actor* self, const std::string& name) {
  auto& st = self->state;
  if (st.name_subscribers.empty())
    return;
  name_event ev{name, st.shared->names.whereis(name)};
  for (auto& sub : st.name_subscribers)
    self->send(sub, ev);
}

void announce_names(daemon_actor* self, const caf::actor& daemon) {
  // Every name this node holds, not only those of its own actors: a name
  // it bound to an actor on another node (a supervisor's remote child)
  // was announced only to the members it knew then, and the actor's node
  // does not announce it either. Stamps settle duplicates (name_table).
  for (auto& kvp : self->state.shared->names.all())
    announce_name(self, kvp.first, kvp.second, daemon);
}

caf::result<void> register_name(daemon_actor* self, const std::string& name,
                                const caf::actor& hdl, bool rebind) {
  auto& st = self->state;
  auto& c = *st.shared;
  auto owner = owner_of(self, hdl);
  if (owner.empty())
    return make_error(errc::name_taken,
                      fmt::format("cannot register '{}': the actor is "
                                  "on a node outside the cluster",
                                  name));
  if (auto old = c.names.entry(name); !rebind && held_by_other(old, hdl))
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
}

void unregister_name(daemon_actor* self, const std::string& name,
                     const caf::actor_addr& addr) {
  if (self->state.shared->names.drop(name, addr)) {
    name_changed(self, name);
    broadcast_drop(self, name);
  }
}

void subscribe_names(daemon_actor* self, const caf::actor& listener) {
  auto& st = self->state;
  st.name_subscribers.emplace_back(listener);
  for (auto& kvp : st.shared->names.all())
    self->send(listener, name_event{kvp.first, kvp.second.hdl});
}

namespace {

/// Applies an entry a member announced, unless it speaks for an
/// incarnation that is fenced or left.
void take_name_entry(daemon_actor* self, const std::string& name,
                     name_entry e) {
  if (is_fenced(self, e.owner, e.owner_incarnation))
    return;
  // Nor from an incarnation that left: its names were released when it
  // left, and an entry that arrives later (relayed, or overtaken by the
  // leave) would bind the name to an actor that is gone, for good.
  if (auto i = self->state.peers.find(e.owner);
      i != self->state.peers.end()
      && i->second.info.incarnation == e.owner_incarnation
      && i->second.info.status == member_status::left)
    return;
  apply_name(self, name, std::move(e));
}

/// Whether `nid` is this node or a live member this node has met.
bool met(daemon_actor* self, const caf::node_id& nid) {
  if (nid == self->home_system().node())
    return true;
  return std::any_of(self->state.peers.begin(), self->state.peers.end(),
                     [&](auto& kvp) {
                       return kvp.second.nid == nid && is_live(kvp.second);
                     });
}

} // namespace

void on_name_entry(daemon_actor* self, const wire::NameEntry& x,
                   const caf::actor& hdl) {
  // An entry about an actor of this node that ended while the entry was on
  // its way arrives with no handle (CAF finds no actor under its id):
  // nothing to bind, its own drop follows.
  if (!hdl)
    return;
  name_entry e;
  e.hdl = hdl;
  e.owner = x.owner();
  e.owner_incarnation = x.owner_incarnation();
  e.stamp = x.stamp();
  if (!met(self, hdl.node())) {
    // Relayed by a member before this node met the actor's own node: it
    // waits until then (see `daemon_state::unmet_names`).
    self->state.unmet_names[hdl.node()].push_back(
      unmet_name{x.name(), std::move(e), steady::now()});
    return;
  }
  take_name_entry(self, x.name(), std::move(e));
}

void on_node_met(daemon_actor* self, const caf::node_id& nid) {
  auto i = self->state.unmet_names.find(nid);
  if (i == self->state.unmet_names.end())
    return;
  auto waiting = std::move(i->second);
  self->state.unmet_names.erase(i);
  for (auto& x : waiting)
    take_name_entry(self, x.name, std::move(x.entry));
}

void forget_unmet_names(daemon_actor* self, steady::time_point now) {
  auto limit = self->state.shared->fd.forget_after;
  auto& all = self->state.unmet_names;
  for (auto i = all.begin(); i != all.end();) {
    auto& xs = i->second;
    xs.erase(std::remove_if(xs.begin(), xs.end(),
                            [&](const unmet_name& x) {
                              return now - x.since > limit;
                            }),
             xs.end());
    i = xs.empty() ? all.erase(i) : std::next(i);
  }
}

void on_name_drop(daemon_actor* self, const wire::NameEntry& x) {
  if (!x.drop())
    return;
  for (auto& kvp : self->state.unmet_names) {
    auto& xs = kvp.second;
    xs.erase(std::remove_if(xs.begin(), xs.end(),
                            [&](const unmet_name& u) {
                              return u.name == x.name()
                                     && u.entry.owner == x.owner();
                            }),
             xs.end());
  }
  auto e = self->state.shared->names.entry(x.name());
  if (e && e->owner == x.owner())
    if (self->state.shared->names.drop(x.name(), caf::actor_addr{}))
      name_changed(self, x.name());
}

} // namespace troupe::cluster::daemon_detail
