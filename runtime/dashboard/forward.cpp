// SPDX-License-Identifier: Apache-2.0
#include "dashboard/forward.hpp"

#include <caf/scoped_actor.hpp>

#include "troupe/error.hpp"
#include "troupe/node/introspection.hpp"
#include "troupe/wire/proto.hpp"

namespace troupe::dashboard {

caf::expected<wire::KillReply>
forward_kill(node& owner, const std::string& member, const std::string& path,
             node::fail_mode mode, std::chrono::milliseconds timeout) {
  for (auto& m : owner.members()) {
    if (m.name != member)
      continue;
    if (m.status != member_status::up)
      return make_error(errc::node_down, "member '" + member + "' is " +
                                             std::string{to_string(m.status)});
    auto svc = owner.lookup(m.host, m.port, "troupe.introspect", timeout);
    if (!svc)
      return svc.error();
    wire::KillRequest req;
    req.set_path(path);
    req.set_secret(owner.config().secret);
    req.set_mode(mode == node::fail_mode::handler_throw
                     ? wire::KillRequest::THROW
                     : wire::KillRequest::EXIT);
    caf::expected<wire::KillReply> out{wire::KillReply{}};
    caf::scoped_actor self{owner.system(), true};
    self->request(*svc, timeout, std::move(req))
        .receive(
            [&](wire::KillReply& reply) {
              out = std::move(reply);
            },
            [&](caf::error& err) {
              out = std::move(err);
            });
    return out;
  }
  return make_error(errc::name_not_found, "no member '" + member + "'");
}

} // namespace troupe::dashboard
