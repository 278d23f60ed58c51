// SPDX-License-Identifier: Apache-2.0
// The node's cluster-facing calls: reaching other nodes' directories,
// membership, cluster-wide names and handles, remote spawns, and the
// cluster layer's counters. Each forwards to the daemon or reads the
// cluster core (runtime/cluster/).
#include "troupe/node/node.hpp"

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>

#include "cluster/core.hpp"
#include "cluster/daemon.hpp"
#include "cluster/link.hpp"
#include "cluster/ref.hpp"
#include "node/caf_config.hpp"
#include "transport/endpoint.hpp"
#include "troupe/error.hpp"
#include "troupe/wire/cluster.pb.h"
#include "troupe/wire/node.pb.h"
#include "troupe/wire/proto.hpp"

namespace troupe {

caf::expected<caf::actor> node::connect(const std::string& host,
                                        uint16_t port) {
  if (!running())
    return make_error(errc::not_running, "node is not running");
  auto hdl = core_->net->connect(host, port);
  if (!hdl)
    return make_error(errc::connect_failed,
                      fmt::format("cannot reach node at {}:{}: {}", host, port,
                                  describe(hdl.error())));
  return honest(*hdl);
}

caf::expected<caf::actor> node::lookup(const std::string& host, uint16_t port,
                                       const std::string& name,
                                       std::chrono::milliseconds timeout) {
  if (!running())
    return make_error(errc::not_running, "node is not running");
  wire::Lookup req;
  req.set_name(name);
  caf::scoped_actor self{*sys_, true}; // hidden: not an application actor
  caf::expected<caf::actor> result{caf::actor{}};
  // A member this node is linked with: ask its daemon over that link.
  caf::actor peer;
  self->request(daemon_, timeout, cluster::peer_at_atom::value,
                fmt::format("{}:{}", host, port))
    .receive([&](const caf::actor& x) { peer = x; }, [](caf::error&) {});
  if (peer) {
    self->request(peer, timeout, req)
      .receive([&](const caf::actor& hdl) { result = honest(hdl); },
               [&](caf::error& err) { result = std::move(err); });
    if (result
        || (result.error().category() == error_category
            && result.error().code()
                 == static_cast<uint8_t>(errc::name_not_found)))
      return result;
  }
  auto dir = connect(host, port);
  if (!dir)
    return dir.error();
  self->request(*dir, timeout, std::move(req))
    .receive([&](const caf::actor& hdl) { result = honest(hdl); },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

std::vector<member> node::members() const {
  return core_->view.members();
}

void node::subscribe_names(const caf::actor& listener) {
  if (daemon_)
    caf::anon_send(daemon_, cluster::subscribe_names_atom::value, listener);
}

void node::subscribe_members(const caf::actor& listener) {
  if (daemon_)
    caf::anon_send(daemon_, cluster::subscribe_atom::value, listener);
}

bool node::join(const std::string& endpoint,
                std::chrono::milliseconds timeout) {
  if (!running() || !daemon_ || !parse_endpoint(endpoint))
    return false;
  caf::scoped_actor self{*sys_, true};
  bool result = false;
  self->request(daemon_, timeout, cluster::join_atom::value, endpoint)
    .receive([&](bool joined) { result = joined; }, [](caf::error&) {});
  return result;
}

void node::leave() {
  if (!daemon_ || !sys_)
    return;
  caf::scoped_actor self{*sys_, true};
  self->request(daemon_, std::chrono::milliseconds{500},
                cluster::leave_atom::value)
    .receive([](caf::unit_t) {}, [](caf::error&) {});
}

void node::add_actor_type(std::string type, actor_factory f) {
  core_->types.add(std::move(type), std::move(f));
}

caf::expected<caf::actor>
node::ask_spawn(const std::string& type, const std::string& where,
                placement how, caf::message args,
                std::chrono::milliseconds timeout) {
  if (!running() || !daemon_)
    return make_error(errc::not_running, "node is not running");
  caf::scoped_actor self{*sys_, true};
  caf::expected<caf::actor> result{caf::actor{}};
  self->request(daemon_, timeout, cluster::spawn_atom::value, type, where,
                static_cast<int>(how), std::move(args),
                std::vector<std::string>{})
    .receive([&](caf::actor& hdl) { result = std::move(hdl); },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

caf::expected<caf::actor> node::spawn_on(const std::string& node_name,
                                         const std::string& type,
                                         caf::message args,
                                         std::chrono::milliseconds timeout) {
  auto hdl = ask_spawn(type, node_name, placement::local, std::move(args),
                       timeout);
  return hdl ? honest(*hdl) : hdl;
}

caf::expected<caf::actor> node::spawn_placed(const std::string& type,
                                             placement how, caf::message args,
                                             std::chrono::milliseconds timeout) {
  auto hdl = ask_spawn(type, {}, how, std::move(args), timeout);
  return hdl ? honest(*hdl) : hdl;
}

namespace {

caf::error ask_register(caf::actor_system& sys, const caf::actor& daemon,
                        const std::string& name, const caf::actor& hdl,
                        bool rebind) {
  caf::scoped_actor self{sys, true};
  caf::error result;
  self->request(daemon, std::chrono::seconds{5},
                cluster::register_atom::value, name, hdl, rebind)
    .receive([] {}, [&](caf::error& err) { result = std::move(err); });
  return result;
}

} // namespace

caf::error node::register_global(const std::string& name,
                                 const caf::actor& hdl) {
  if (!running() || !daemon_)
    return make_error(errc::not_running, "node is not running");
  return ask_register(*sys_, daemon_, name, hdl, false);
}

caf::error node::rebind_global(const std::string& name,
                               const caf::actor& hdl) {
  if (!running() || !daemon_)
    return make_error(errc::not_running, "node is not running");
  return ask_register(*sys_, daemon_, name, hdl, true);
}

caf::actor node::whereis_global(const std::string& name) const {
  return honest(core_->names.whereis(name));
}

caf::actor node::honest(const caf::actor& hdl) const {
  return sys_ ? cluster::make_honest(*sys_, core_, hdl) : hdl;
}

uint16_t node::link_port() const noexcept {
  return core_->links ? core_->links->port() : 0;
}

caf::actor node::global_ref(const std::string& name) {
  return cluster::make_ref(system(), core_, name);
}

caf::actor node::ref(const caf::actor& hdl) {
  // Another node's actor keeps its own address (a mirror).
  if (cluster::of_another_node(system(), hdl))
    return honest(hdl);
  return cluster::make_ref(system(), core_, {}, hdl);
}

child_spec node::remote_child(std::string id, std::string type,
                              std::string global_name, placement how,
                              caf::message args) {
  child_spec spec;
  spec.id = std::move(id);
  // Runs inside the supervisor: a bounded wait for the daemon's answer.
  // A node that went down a moment ago may still be chosen before the
  // daemon has processed its loss; the spawn then fails with node_down and
  // the next attempt places the child elsewhere.
  spec.global_name = std::move(global_name); // the supervisor binds it
  // The node of the last incarnation. A restart goes back to it while it
  // is an up member (OTP restarts a child in place; a node-local journal,
  // such as `memory:`, has the child's events only there): `how` places
  // the first start, and a child whose node went down or no longer hosts
  // the type. Shared by the copies of this spec.
  auto last = std::make_shared<caf::node_id>();
  spec.start = [this, type = std::move(type), how, args = std::move(args),
                last](caf::actor_system&) {
    if (*last && core_->view.up_member(*last)) {
      auto name = core_->view.member_of(*last);
      if (auto hdl = ask_spawn(type, name, placement::local, args,
                               std::chrono::seconds{5}))
        return *hdl;
      else
        log(log_level::info,
            fmt::format("restarting '{}' on '{}' failed ({}): placing it "
                        "anew",
                        type, name, describe(hdl.error())));
    }
    for (int attempt = 0; attempt < 3; ++attempt) {
      // CAF's own handle: the supervisor watches its child's node itself.
      auto hdl = ask_spawn(type, {}, how, args,
                           std::chrono::seconds{5});
      if (hdl) {
        *last = hdl->node();
        return *hdl;
      }
      log(log_level::warn, fmt::format("placing '{}' failed: {}", type,
                                       describe(hdl.error())));
    }
    return caf::actor{};
  };
  return spec;
}

cluster_stats node::cluster_statistics() const {
  cluster_stats x;
  using troupe::detail::dead_letter;
  auto& letters = caf_cfg_->letters;
  x.dead_letters = letters.dead_total();
  x.dead_letters_node_down = letters.of(dead_letter::node_down);
  x.dead_letters_name_not_found = letters.of(dead_letter::name_not_found);
  x.dead_letters_actor_gone = letters.of(dead_letter::actor_gone);
  x.dead_letters_mailbox_full = letters.of(dead_letter::mailbox_full);
  x.mailbox_dropped = letters.mailbox_dropped.load();
  x.failed_requests = core_->pending.failed();
  x.fenced = core_->fenced.load();
  x.flow_waits = core_->flow.waits();
  if (auto& links = core_->links) {
    x.flow_waits += links->waits.load();
    x.link_frames_out = links->frames_out.load();
    x.link_frames_in = links->frames_in.load();
    x.link_bad_frames = links->bad_frames.load();
  }
  if (auto& net = core_->net) {
    auto g = net->stats();
    x.refused_over_limit = g.over_limit;
    x.refused_displaced = g.displaced;
    x.refused_oversized = g.oversized_frames;
    x.refused_handshake_timeout = g.handshake_timeouts;
    x.refused_secret = g.auth_failures;
    x.refused_tls = g.tls_failures;
    x.refused_malformed = g.malformed;
  }
  return x;
}

} // namespace troupe
