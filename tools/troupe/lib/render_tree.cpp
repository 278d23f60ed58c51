// SPDX-License-Identifier: Apache-2.0
#include "troupe/tool/render.hpp"

#include "forest.hpp"
#include "format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

namespace troupe::tool {

namespace {

using detail::actor_entry;
using detail::cell;
using detail::forest;
using detail::paint;
using detail::table;

size_t actors_on(const forest& f, const std::string& node) {
  size_t n = 0;
  for (auto& e : f.actors)
    n += e.node == node ? 1 : 0;
  return n;
}

std::string plural(size_t n, const char* what) {
  return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s");
}

// ` (3 actor_gone, 1 mailbox_full)`: the reasons that occurred, by name.
std::string reasons(const wire::NodeSnapshot& ns) {
  std::vector<std::pair<std::string, uint64_t>> xs;
  for (auto& [reason, n] : ns.dead_letters_by_reason())
    if (n > 0)
      xs.emplace_back(reason, n);
  if (xs.empty())
    return {};
  std::sort(xs.begin(), xs.end());
  std::string out;
  for (auto& [reason, n] : xs)
    out += fmt::format("{}{} {}", out.empty() ? " (" : ", ", n, reason);
  return out + ")";
}

// `n1  up  incarnation 17  host:port  uptime 1h02m  6 actors`, or the
// error instead of the figures when the node did not answer.
std::string heading(const wire::NodeSnapshot& ns, size_t actors, bool color) {
  auto& m = ns.member();
  auto line = fmt::format(
      "{}  {}  incarnation {}  {}:{}",
      paint(color, detail::ansi::bold, m.name()),
      paint(color, detail::color_of(m.status()), detail::name_of(m.status())),
      m.incarnation(), m.host(), m.port());
  if (!ns.reachable()) {
    auto why = ns.error().empty() ? std::string{"no error given"}
                                  : detail::one_line(ns.error());
    line += "  " + paint(color, detail::ansi::bold_red, "unreachable: " + why);
    if (actors > 0)
      line += "  " + plural(actors, "actor") + " last known";
    return line;
  }
  line +=
      fmt::format("  uptime {}  {}", detail::format_duration(ns.uptime_ms()),
                  plural(actors, "actor"));
  if (ns.dead_letters() > 0)
    line += "  " + paint(color, detail::ansi::yellow,
                         plural(ns.dead_letters(), "dead letter")
                           + reasons(ns));
  return line;
}

// What goes after the figures: the cluster-wide name (plain), then what
// needs attention (in red): a missing supervisor, drops, the last failure.
cell notes(const actor_entry& e, bool color) {
  auto& a = *e.info;
  std::vector<std::string> alerts;
  if (e.orphan)
    alerts.push_back(fmt::format("supervisor {} not in snapshot", a.parent()));
  if (a.children_unknown())
    alerts.push_back("children not reported in time");
  if (auto dropped = a.figures().dropped(); dropped > 0)
    alerts.push_back(
        fmt::format("dropped {} ({})", dropped, a.figures().overflow()));
  if (auto failure = detail::last_failure_note(a); !failure.empty())
    alerts.push_back(std::move(failure));
  std::string alert;
  for (auto& x : alerts)
    alert += (alert.empty() ? "" : "; ") + x;
  auto name = detail::global_name_note(a);
  auto sep = !name.empty() && !alert.empty() ? "; " : "";
  cell out{name + sep + alert};
  out.painted = name + sep + paint(color, detail::ansi::red, alert);
  return out;
}

// `3`, or `3/64` for a bounded mailbox.
std::string mailbox(const wire::ActorFigures& fig) {
  if (fig.mailbox_bound() == 0)
    return std::to_string(fig.mailbox());
  return fmt::format("{}/{}", fig.mailbox(), fig.mailbox_bound());
}

// Adds the row of actor `i` and, below it, its subtree. `prefix` is the
// glyphs of the levels above, `glyph` this actor's branch.
void draw(table& t, const forest& f, size_t i, const std::string& tree_node,
          const std::string& prefix, const std::string& glyph, bool color) {
  auto& e = f.actors[i];
  auto& a = *e.info;
  auto label =
      e.parent == detail::none ? a.path() : detail::last_segment(a.path());
  cell name{"  " + prefix + glyph + label};
  if (e.node != tree_node) {
    name.text += " @" + e.node;
    name.painted = "  " + prefix + glyph + label + " " +
                   paint(color, detail::ansi::cyan, "@" + e.node);
  }
  auto known = a.status() != wire::ActorInfo::UNKNOWN;
  auto& fig = a.figures();
  t.row({
      std::move(name),
      {detail::name_of(a.kind())},
      {a.type()},
      {detail::name_of(a.status()), detail::color_of(a.status())},
      {std::to_string(a.restarts()),
       a.restarts() > 0 ? detail::ansi::yellow : std::string_view{}, true},
      {known ? mailbox(fig) : "-", {}, true},
      {known ? detail::format_rate(fig.msgs_per_sec()) : "-", {}, true},
      notes(e, color),
  });
  auto below = prefix + (glyph == "├─ " ? "│  " : glyph.empty() ? "" : "   ");
  for (size_t k = 0; k < e.children.size(); ++k) {
    auto last = k + 1 == e.children.size();
    draw(t, f, e.children[k], tree_node, below, last ? "└─ " : "├─ ", color);
  }
}

} // namespace

std::string render_tree(const wire::ClusterSnapshot& snap,
                        const render_options& opts) {
  auto f = detail::build_forest(snap);
  auto color = opts.color;
  table t;
  int unreachable = 0;
  for (auto& ns : snap.nodes())
    unreachable += ns.reachable() ? 0 : 1;
  t.line(fmt::format(
      "cluster snapshot from {}: {}{}, {}",
      snap.answered_by().empty() ? "?" : snap.answered_by(),
      plural(static_cast<size_t>(snap.nodes_size()), "node"),
      unreachable > 0 ? fmt::format(" ({} unreachable)", unreachable) : "",
      plural(f.actors.size(), "actor")));
  t.line("");
  t.row({{"NODE / ACTOR", detail::ansi::dim},
         {"KIND", detail::ansi::dim},
         {"TYPE", detail::ansi::dim},
         {"STATUS", detail::ansi::dim},
         {"RESTARTS", detail::ansi::dim, true},
         {"MAILBOX", detail::ansi::dim, true},
         {"MSG/S", detail::ansi::dim, true},
         {"NOTE", detail::ansi::dim}});
  auto first = true;
  for (auto i : detail::nodes_by_name(snap)) {
    auto& ns = snap.nodes(i);
    auto& name = ns.member().name();
    if (!first)
      t.line("");
    first = false;
    t.line(heading(ns, actors_on(f, name), color));
    auto& roots = f.roots[static_cast<size_t>(i)];
    for (auto r : roots)
      draw(t, f, r, name, "", "", color);
    // Actors that run here under a supervisor elsewhere are drawn in the
    // supervisor's tree; say so, so that they are not missed here.
    std::vector<std::string> elsewhere;
    for (auto& e : f.actors)
      if (e.node == name && e.section != i)
        elsewhere.push_back(fmt::format("  also runs {}, drawn under {}",
                                        e.info->path(),
                                        snap.nodes(e.section).member().name()));
    std::sort(elsewhere.begin(), elsewhere.end());
    for (auto& line : elsewhere)
      t.line(std::move(line));
    if (roots.empty() && elsewhere.empty() && ns.reachable())
      t.line("  (no actors)");
  }
  return t.render(color);
}

} // namespace troupe::tool
