// SPDX-License-Identifier: Apache-2.0
#include "cluster/core.hpp"

#include "actor/bound_exempt.hpp"
#include "cluster/link.hpp"
#include "transport/endpoint.hpp"


#include "troupe/wire/cluster.pb.h"
#include "troupe/wire/proto.hpp"

namespace troupe {

const char* to_string(member_status x) noexcept {
  switch (x) {
    case member_status::joining:
      return "joining";
    case member_status::up:
      return "up";
    case member_status::down:
      return "down";
    case member_status::left:
      return "left";
    case member_status::removed:
      return "removed";
  }
  return "unknown";
}

} // namespace troupe

namespace troupe::cluster {

core::core() {
  // A subscriber gets these whatever bound its mailbox has. Registered
  // here, not by a static initializer: the table is another file's global,
  // and static initializers across files run in no set order (ASan's
  // init-order check caught that).
  detail::exempt_from_bound(typeid(member_event));
  detail::exempt_from_bound(typeid(name_event));
}

wire::Member to_wire(const member& m) {
  wire::Member x;
  x.set_name(m.name);
  x.set_incarnation(m.incarnation);
  x.set_host(m.host);
  x.set_port(m.port);
  x.set_status(static_cast<wire::MemberStatus>(m.status));
  x.set_load(m.load);
  for (auto& t : m.actor_types)
    x.add_actor_types(t);
  return x;
}

member from_wire(const wire::Member& x) {
  member m;
  m.name = x.name();
  m.incarnation = x.incarnation();
  m.host = x.host();
  m.port = static_cast<uint16_t>(x.port());
  m.status = static_cast<member_status>(x.status());
  m.load = x.load();
  m.actor_types.assign(x.actor_types().begin(), x.actor_types().end());
  return m;
}

void core::flow_open(const caf::node_id& nid, caf::actor echo,
                     const std::string& link_host, uint16_t link_port) {
  if (links && link_port != 0)
    links->learn(nid, link_host, link_port); // dialed on the first message
  flow.open(nid, std::move(echo));
}

void core::flow_close(const caf::node_id& nid) {
  if (links)
    links->close(nid);
  flow.close(nid);
}

void core::clear() {
  // The layer stays (senders may still hold `links`); stopped, it refuses.
  if (links)
    links->stop();
  if (net)
    net->stop();
  responder = nullptr;
  directory = nullptr;
  names.clear();
  view.clear();
  pending.clear();
  flow.clear();
}

} // namespace troupe::cluster
