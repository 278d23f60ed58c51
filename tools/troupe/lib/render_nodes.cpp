// SPDX-License-Identifier: Apache-2.0
#include "troupe/tool/render.hpp"

#include "format.hpp"

#include <fmt/format.h>

#include <string>

namespace troupe::tool {

std::string render_nodes(const wire::ClusterSnapshot& snap, bool color) {
  using detail::ansi::dim;
  detail::table t;
  t.row({{"NODE", dim},
         {"STATUS", dim},
         {"INCARNATION", dim, true},
         {"ADDRESS", dim},
         {"UPTIME", dim, true},
         {"ACTORS", dim, true},
         {"DEAD LETTERS", dim, true},
         {"NOTE", dim}});
  for (auto i : detail::nodes_by_name(snap)) {
    auto& ns = snap.nodes(i);
    auto& m = ns.member();
    // Actors that run on the node, wherever the snapshot listed them.
    size_t actors = 0;
    for (auto& other : snap.nodes())
      for (auto& a : other.actors())
        actors +=
            (a.node().empty() ? other.member().name() : a.node()) == m.name()
                ? 1
                : 0;
    auto up = ns.reachable();
    std::string note;
    if (!up)
      note =
          "unreachable: " + (ns.error().empty() ? std::string{"no error given"}
                                                : detail::one_line(ns.error()));
    else if (snap.answered_by() == m.name())
      note = "answered";
    t.row({
        {m.name(), detail::ansi::bold},
        {detail::name_of(m.status()), detail::color_of(m.status())},
        {std::to_string(m.incarnation()), {}, true},
        {fmt::format("{}:{}", m.host(), m.port())},
        {up ? detail::format_duration(ns.uptime_ms()) : "-", {}, true},
        {up || actors > 0 ? std::to_string(actors) : "-", {}, true},
        {up ? std::to_string(ns.dead_letters()) : "-", {}, true},
        {note, up ? std::string_view{} : detail::ansi::bold_red},
    });
  }
  return t.render(color);
}

} // namespace troupe::tool
