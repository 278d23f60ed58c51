// SPDX-License-Identifier: Apache-2.0
// Snapshots of a node's actor trees and of the cluster's (the
// introspector's walk; request/response types in
// proto/troupe/wire/introspect.proto).
#include <map>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/blocking_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <fmt/format.h>

#include "cluster/core.hpp"
#include "cluster/link.hpp"
#include "introspection/introspector.hpp"
#include "introspection/mailbox_depths.hpp"
#include "troupe/actor/actor_base.hpp"
#include "troupe/error.hpp"
#include "troupe/node/node.hpp"
#include "troupe/persistence/persistent_actor.hpp"
#include "troupe/supervision/supervisor.hpp"
#include "troupe/wire/cluster.pb.h"
#include "troupe/wire/introspect.pb.h"
#include "troupe/wire/proto.hpp"

namespace troupe::detail {

namespace {

using namespace std::chrono_literals;

wire::ActorInfo::Restart to_wire(restart_type x) {
  switch (x) {
    case restart_type::permanent:
      return wire::ActorInfo::PERMANENT;
    case restart_type::transient:
      return wire::ActorInfo::TRANSIENT;
    case restart_type::temporary:
      return wire::ActorInfo::TEMPORARY;
  }
  return wire::ActorInfo::RESTART_UNKNOWN;
}

int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// Steady-clock nanoseconds (as the actor clock and the figures keep them)
/// to Unix milliseconds.
int64_t steady_ns_to_unix_ms(int64_t ns) {
  auto steady_now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count();
  return unix_ms_now() - (steady_now - ns) / 1000000;
}

int64_t steady_ms_since(int64_t ns) {
  auto steady_now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count();
  return (steady_now - ns) / 1000000;
}

/// Fills what a local actor knows about itself; its mailbox depth is to
/// be asked of `depths_of`, and written into `depths_into`.
void fill_local(const caf::actor& hdl, wire::ActorInfo& info,
                std::vector<caf::actor>& depths_of,
                std::vector<wire::ActorFigures*>& depths_into) {
  auto ptr = caf::actor_cast<caf::abstract_actor*>(hdl);
  if (ptr == nullptr)
    return;
  if (auto local = dynamic_cast<caf::local_actor*>(ptr))
    info.set_type(local->name());
  auto base = dynamic_cast<actor_base*>(ptr);
  if (base == nullptr)
    return;
  auto& f = base->figures();
  auto* out = info.mutable_figures();
  out->set_messages(f.consumed.load(std::memory_order_relaxed));
  out->set_handler_ns_total(static_cast<uint64_t>(
    ticks_to_ns(f.handler_ticks_total.load(std::memory_order_relaxed))));
  out->set_handler_ns_max(static_cast<uint64_t>(
    ticks_to_ns(f.handler_ticks_max.load(std::memory_order_relaxed))));
  info.set_uptime_ms(
    steady_ms_since(f.started_ns.load(std::memory_order_relaxed)));
  if (auto p = dynamic_cast<persistence::persistent_base*>(base)) {
    auto* pi = info.mutable_persistence();
    pi->set_id(p->pid_copy());
    pi->set_last_seq(p->last_sequence_nr());
    pi->set_recovery_ns(p->recovery_ns());
    pi->set_epoch(p->writer_epoch());
  }
  if (auto& bound = base->bound(); bound.bounded()) {
    out->set_mailbox_bound(bound.capacity);
    out->set_overflow(to_string(bound.policy));
    out->set_dropped(f.dropped.load(std::memory_order_relaxed));
  }
  // The depth comes from inside the actor: asked of all at once after
  // the walk (mailbox_depths.hpp).
  depths_of.emplace_back(hdl);
  depths_into.emplace_back(out);
}

struct walker {
  caf::blocking_actor* self;
  const caf::node_id& here;
  cluster::core& core;
  wire::NodeSnapshot& out;
  std::set<caf::actor_id> seen;
  /// When set, the walk only collects paths and handles (for fail_actor):
  /// no figures, so no depth request waits on a busy actor.
  std::map<std::string, caf::actor>* handles = nullptr;
  /// The actors whose mailbox depth is to be asked, and where it goes.
  std::vector<caf::actor> depths_of = {};
  std::vector<wire::ActorFigures*> depths_into = {};
  /// How long a supervisor has to list its children.
  std::chrono::milliseconds children_timeout = 1s;

  std::string node_name(const caf::actor& hdl) {
    // This node's own name, whether or not its daemon published the view
    // yet (it runs on a thread of its own and may not have, just after
    // the start).
    if (hdl.node() == here)
      return core.self_name;
    auto name = core.view.member_of(hdl.node());
    return name.empty() ? caf::to_string(hdl.node()) : name;
  }

  wire::ActorInfo& add(const caf::actor& hdl, const std::string& path,
                       const std::string& parent) {
    auto& info = *out.add_actors();
    info.set_path(path);
    info.set_parent(parent);
    info.set_id(hdl ? hdl.id() : 0);
    info.set_node(hdl ? node_name(hdl) : core.self_name);
    if (handles != nullptr && hdl)
      (*handles)[path] = hdl;
    if (hdl && hdl.node() == here) {
      seen.insert(hdl.id());
      if (handles == nullptr)
        fill_local(hdl, info, depths_of, depths_into);
    }
    return info;
  }

  /// Lists `sup`'s children in the order it gives them (start order, which
  /// `rest_for_one` follows), each subtree right after its root. A
  /// supervisor that does not answer within `children_timeout` gets
  /// `children_unknown` on `info`: the snapshot says its subtree is
  /// missing instead of showing it empty.
  void supervisor(const caf::actor& sup, const std::string& path,
                  wire::ActorInfo& info) {
    std::vector<child_status> children;
    bool answered = false;
    self->request(sup, children_timeout, children_atom::value)
      .receive(
        [&](std::vector<child_status>& xs) {
          children = std::move(xs);
          answered = true;
        },
        [&](caf::error&) {});
    if (!answered)
      info.set_children_unknown(true);
    for (auto& c : children) {
      auto child_path = path + "/" + c.id;
      auto& info = add(c.handle, child_path, path);
      info.set_kind(c.kind == child_kind::supervisor
                      ? wire::ActorInfo::SUPERVISOR
                      : wire::ActorInfo::WORKER);
      info.set_status(c.running ? wire::ActorInfo::RUNNING
                                : wire::ActorInfo::RESTARTING);
      info.set_restarts(c.restarts);
      info.set_global_name(c.global_name);
      info.set_restart(to_wire(c.restart));
      // Verbatim: the supervisor words every cause alike.
      info.set_last_failure(c.last_failure);
      if (c.last_failure_ns != 0)
        info.set_last_failure_unix_ms(steady_ns_to_unix_ms(c.last_failure_ns));
      for (auto& f : c.failures) {
        auto& out = *info.add_failures();
        out.set_unix_ms(steady_ns_to_unix_ms(f.time_ns));
        out.set_failure(f.failure);
        out.set_decision(f.decision);
      }
      if (c.kind == child_kind::supervisor && c.handle
          && c.handle.node() == here)
        supervisor(c.handle, child_path, info);
    }
  }
};

} // namespace

wire::NodeSnapshot
introspector::snapshot_local(std::map<std::string, caf::actor>* handles) {
  wire::NodeSnapshot out;
  if (!owner_.running())
    return out;
  auto& name = owner_.name();
  for (auto& m : owner_.members())
    if (m.name == name)
      *out.mutable_member() = cluster::to_wire(m);
  out.set_reachable(true);
  auto stats = owner_.cluster_statistics();
  out.set_dead_letters(stats.dead_letters);
  auto& by_reason = *out.mutable_dead_letters_by_reason();
  by_reason["node_down"] = stats.dead_letters_node_down;
  by_reason["name_not_found"] = stats.dead_letters_name_not_found;
  by_reason["actor_gone"] = stats.dead_letters_actor_gone;
  by_reason["mailbox_full"] = stats.dead_letters_mailbox_full;
  out.set_mailbox_dropped(stats.mailbox_dropped);
  auto& refused = *out.mutable_refused_by_reason();
  refused["over_limit"] = stats.refused_over_limit;
  refused["displaced"] = stats.refused_displaced;
  refused["oversized"] = stats.refused_oversized;
  refused["handshake_timeout"] = stats.refused_handshake_timeout;
  refused["secret"] = stats.refused_secret;
  refused["tls"] = stats.refused_tls;
  refused["malformed"] = stats.refused_malformed;
  out.set_link_frames_out(stats.link_frames_out);
  out.set_link_frames_in(stats.link_frames_in);
  if (auto& links = owner_.core_->links)
    for (auto& f : links->flows()) {
      auto& lf = *out.add_links();
      auto peer = owner_.core_->view.member_of(f.peer);
      lf.set_peer(peer.empty() ? caf::to_string(f.peer) : peer);
      lf.set_frames_out(f.frames_out);
      lf.set_bytes_out(f.bytes_out);
      lf.set_frames_in(f.frames_in);
      lf.set_bytes_in(f.bytes_in);
    }
  for (auto& x : owner_.core_->history.recent()) {
    auto& change = *out.add_member_changes();
    change.set_seq(x.seq);
    change.set_unix_ms(x.unix_ms);
    change.set_name(x.name);
    change.set_incarnation(x.incarnation);
    change.set_change(x.change);
    change.set_why(x.why);
    change.set_silent_ms(x.silent_ms);
  }
  out.set_uptime_ms(unix_ms_now() - owner_.started_unix_ms_);
  auto& sys = owner_.system();
  caf::scoped_actor self{sys, true};
  walker w{self.ptr(), sys.node(), *owner_.core_, out, {}, handles};
  auto lists = owner_.trees();
  auto& roots = lists.roots;
  for (size_t i = 0; i < roots.size(); ++i) {
    auto path = i == 0 ? std::string{"/root"} : fmt::format("/root{}", i + 1);
    auto& info = w.add(roots[i], path, "");
    info.set_kind(wire::ActorInfo::SUPERVISOR);
    w.supervisor(roots[i], path, info);
  }
  for (auto& hdl : lists.others) {
    if (w.seen.count(hdl.id()) != 0)
      continue;
    auto ptr = caf::actor_cast<caf::abstract_actor*>(hdl);
    auto local = dynamic_cast<caf::local_actor*>(ptr);
    auto type = local ? std::string{local->name()} : std::string{"actor"};
    w.add(hdl, fmt::format("/unsupervised/{}-{}", type, hdl.id()), "");
  }
  if (handles != nullptr)
    return out; // paths only: no figures, no rates
  auto depths = mailbox_depths(sys, std::move(w.depths_of), 200ms);
  for (size_t i = 0; i < depths.size(); ++i)
    if (depths[i])
      w.depths_into[i]->set_mailbox(*depths[i]);
  // Rates: messages since this node's previous snapshot when it is recent,
  // else the average over the actor's life (a one-shot `troupe tree` then
  // still shows which actors are busy).
  auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> guard{mtx_};
  // At least a second apart, or a quick second look divides a handful of
  // messages by a few milliseconds.
  auto since = now - last_snapshot_;
  auto recent = since >= std::chrono::seconds{1}
                && since < std::chrono::seconds{60};
  std::unordered_map<uint64_t, uint64_t> counts;
  for (auto& info : *out.mutable_actors()) {
    if (info.node() != name)
      continue;
    auto msgs = info.figures().messages();
    counts[info.id()] = msgs;
    auto i = last_counts_.find(info.id());
    double rate = 0;
    if (recent && i != last_counts_.end() && msgs >= i->second) {
      auto dt = std::chrono::duration<double>(now - last_snapshot_).count();
      rate = dt > 0 ? static_cast<double>(msgs - i->second) / dt : 0.0;
    } else if (info.uptime_ms() > 0) {
      rate = static_cast<double>(msgs) * 1000.0
             / static_cast<double>(info.uptime_ms());
    }
    info.mutable_figures()->set_msgs_per_sec(rate);
  }
  if (!recent && since < std::chrono::seconds{1})
    return out; // keep the older baseline
  last_counts_ = std::move(counts);
  last_snapshot_ = now;
  return out;
}

wire::ClusterSnapshot
introspector::snapshot_cluster(std::chrono::milliseconds timeout) {
  wire::ClusterSnapshot out;
  auto& name = owner_.name();
  out.set_answered_by(name);
  *out.add_nodes() = snapshot_local();
  for (auto& m : owner_.members()) {
    if (m.name == name)
      continue;
    wire::NodeSnapshot snap;
    auto unreachable = [&](std::string why) {
      snap = wire::NodeSnapshot{};
      snap.set_reachable(false);
      snap.set_error(std::move(why));
    };
    if (m.status != member_status::up) {
      unreachable(fmt::format("member is {}", to_string(m.status)));
    } else if (auto svc = owner_.lookup(m.host, m.port, "troupe.introspect",
                                        timeout)) {
      caf::scoped_actor self{owner_.system(), true};
      self->request(*svc, timeout, wire::SnapshotRequest{})
        .receive(
          [&](const wire::ClusterSnapshot& x) {
            if (x.nodes_size() > 0)
              snap = x.nodes(0);
            else
              unreachable("empty answer");
          },
          [&](caf::error& err) { unreachable(describe(err)); });
    } else {
      unreachable(describe(svc.error()));
    }
    *snap.mutable_member() = cluster::to_wire(m);
    *out.add_nodes() = std::move(snap);
  }
  // A supervised child on another node appears in its supervisor's tree;
  // its figures come from its own node, where it is not listed twice.
  for (auto& tree : *out.mutable_nodes())
    for (auto& info : *tree.mutable_actors()) {
      if (info.node() == tree.member().name())
        continue;
      for (auto& host : *out.mutable_nodes()) {
        if (host.member().name() != info.node())
          continue;
        auto& xs = *host.mutable_actors();
        for (int i = 0; i < xs.size(); ++i)
          if (xs[i].id() == info.id()
              && xs[i].path().rfind("/unsupervised/", 0) == 0) {
            info.set_type(xs[i].type());
            info.set_uptime_ms(xs[i].uptime_ms());
            *info.mutable_figures() = xs[i].figures();
            if (xs[i].has_persistence())
              *info.mutable_persistence() = xs[i].persistence();
            xs.DeleteSubrange(i, 1);
            break;
          }
      }
    }
  return out;
}

} // namespace troupe::detail
