// SPDX-License-Identifier: Apache-2.0
// The introspector's actions and service: failing an actor for drills
// (`troupe kill`), and "troupe.introspect", which answers the `troupe`
// tool's snapshot and kill requests.
#include <chrono>
#include <map>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <fmt/format.h>

#include "introspection/introspector.hpp"
#include "introspection/request.hpp"
#include "troupe/actor/actor_base.hpp"
#include "troupe/error.hpp"
#include "troupe/node/node.hpp"
#include "troupe/wire/introspect.pb.h"
#include "troupe/wire/proto.hpp"

namespace troupe::detail {

namespace {

restart_type from_wire(wire::ActorInfo::Restart x) {
  return x == wire::ActorInfo::TEMPORARY   ? restart_type::temporary
         : x == wire::ActorInfo::TRANSIENT ? restart_type::transient
                                           : restart_type::permanent;
}

} // namespace

caf::expected<wire::KillReply>
introspector::fail_actor(const std::string& path, node::fail_mode mode) {
  std::map<std::string, caf::actor> handles;
  auto snap = snapshot_local(&handles);
  for (auto& info : snap.actors()) {
    if (info.path() != path)
      continue;
    auto hdl = handles[path];
    if (!hdl)
      break;
    kill_outcome done;
    done.path = path;
    done.node = info.node();
    done.id = info.id();
    done.thrown = mode == node::fail_mode::handler_throw;
    done.supervised = !info.parent().empty();
    done.remote = hdl.node() != owner_.system().node();
    caf::scoped_actor self{owner_.system(), true};
    if (info.restart() != wire::ActorInfo::RESTART_UNKNOWN)
      done.restart = from_wire(info.restart());
    // A child on another node is failed through its proxy: the message
    // travels like any other (and only a troupe actor there understands
    // fail_atom; this node cannot tell from here).
    if (done.thrown && !done.remote) {
      auto ptr = caf::actor_cast<caf::abstract_actor*>(hdl);
      if (dynamic_cast<actor_base*>(ptr) == nullptr) {
        auto local = dynamic_cast<caf::local_actor*>(ptr);
        return make_error(
          errc::bad_config,
          fmt::format("'{}' (actor {}{}) is not a troupe actor, so it cannot "
                      "fail as a handler throw would; use mode exit",
                      path, info.id(),
                      local ? fmt::format(", type '{}'", local->name())
                            : std::string{}));
      }
    }
    if (done.thrown) {
      self->send<caf::message_priority::high>(
        hdl, fail_atom::value, std::string{"made to fail by 'troupe kill'"});
    } else {
      self->send_exit(hdl, make_error(errc::handler_failed,
                                      "made to fail by 'troupe kill'"));
    }
    wire::KillReply reply;
    reply.set_node(info.node());
    reply.set_id(info.id());
    reply.set_mode(done.thrown ? wire::KillRequest::THROW
                               : wire::KillRequest::EXIT);
    reply.set_text(kill_text(done));
    return reply;
  }
  return make_error(errc::name_not_found,
                    fmt::format("no actor at '{}' on node '{}'", path,
                                owner_.name()));
}

namespace {

/// Answers each request from a worker of its own, so a slow member never
/// holds up the next request.
caf::behavior introspect(caf::event_based_actor* self, introspector* owner,
                         node* n) {
  // Anything else from another process gets an error, not a line on stdout.
  self->set_default_handler([](caf::scheduled_actor*, caf::message_view& x)
                              -> caf::result<caf::message> {
    return refuse_introspect_request(x.content());
  });
  return {
    [self, owner, n](const wire::SnapshotRequest& req)
      -> caf::result<wire::ClusterSnapshot> {
      auto rp = self->make_response_promise<wire::ClusterSnapshot>();
      bool cluster = req.cluster();
      self->spawn<caf::detached>([rp, owner, n, cluster]() mutable {
        if (cluster) {
          rp.deliver(owner->snapshot_cluster(std::chrono::seconds{2}));
        } else {
          wire::ClusterSnapshot out;
          out.set_answered_by(n->name());
          *out.add_nodes() = owner->snapshot_local();
          rp.deliver(std::move(out));
        }
      });
      return rp;
    },
    [self, owner, n](const wire::KillRequest& req)
      -> caf::result<wire::KillReply> {
      if (auto err = check_kill_request(req, n->config().secret))
        return err;
      auto rp = self->make_response_promise<wire::KillReply>();
      auto path = req.path();
      auto mode = req.mode() == wire::KillRequest::THROW
                    ? node::fail_mode::handler_throw
                    : node::fail_mode::exit;
      self->spawn<caf::detached>([rp, owner, path, mode]() mutable {
        auto res = owner->fail_actor(path, mode);
        if (res)
          rp.deliver(std::move(*res));
        else
          rp.deliver(std::move(res.error()));
      });
      return rp;
    },
  };
}

} // namespace

caf::actor introspector::spawn_service(caf::actor_system& sys) {
  return sys.spawn(introspect, this, &owner_);
}

} // namespace troupe::detail
