// SPDX-License-Identifier: Apache-2.0
#include "troupe/tool/render.hpp"

#include "format.hpp"

namespace troupe::tool {

nlohmann::json to_json(const wire::ClusterSnapshot& snap) {
  // Field names are an interface for scripts: add, never rename.
  auto nodes = nlohmann::json::array();
  for (auto& ns : snap.nodes()) {
    auto& m = ns.member();
    auto actors = nlohmann::json::array();
    for (auto& a : ns.actors()) {
      auto& fig = a.figures();
      actors.push_back({
          {"path", a.path()},
          {"parent", a.parent()},
          {"id", a.id()},
          {"node", a.node().empty() ? m.name() : a.node()},
          {"type", a.type()},
          {"kind", detail::name_of(a.kind())},
          {"status", detail::name_of(a.status())},
          {"restarts", a.restarts()},
          {"last_failure", a.last_failure()},
          {"last_failure_unix_ms", a.last_failure_unix_ms()},
          {"uptime_ms", a.uptime_ms()},
          {"messages", fig.messages()},
          {"mailbox", fig.mailbox()},
          {"handler_ns_total", fig.handler_ns_total()},
          {"handler_ns_max", fig.handler_ns_max()},
          {"msgs_per_sec", fig.msgs_per_sec()},
          {"mailbox_bound", fig.mailbox_bound()},
          {"overflow", fig.overflow()},
          {"dropped", fig.dropped()},
          {"global_name", a.global_name()},
      });
      if (a.children_unknown())
        actors.back()["children_unknown"] = true;
      if (a.has_persistence()) {
        auto& p = a.persistence();
        actors.back()["persistence"] = {{"id", p.id()},
                                        {"last_seq", p.last_seq()},
                                        {"recovery_ns", p.recovery_ns()},
                                        {"epoch", p.epoch()}};
      }
    }
    auto reasons = nlohmann::json::object();
    for (auto& [reason, n] : ns.dead_letters_by_reason())
      reasons[reason] = n;
    nodes.push_back({
        {"name", m.name()},
        {"status", detail::name_of(m.status())},
        {"incarnation", m.incarnation()},
        {"host", m.host()},
        {"port", m.port()},
        {"reachable", ns.reachable()},
        {"error", ns.error()},
        {"uptime_ms", ns.uptime_ms()},
        {"dead_letters", ns.dead_letters()},
        {"dead_letters_by_reason", reasons},
        {"mailbox_dropped", ns.mailbox_dropped()},
        {"actors", std::move(actors)},
    });
  }
  return {{"answered_by", snap.answered_by()}, {"nodes", std::move(nodes)}};
}

} // namespace troupe::tool
