// SPDX-License-Identifier: Apache-2.0
#include "troupe/tool/top.hpp"

#include "format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

namespace troupe::tool {

namespace {

std::string plural(size_t n, const char* what) {
  return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s");
}

// `a` comes before `b`: busier first by `by`, then by the other figure,
// then node and path (ascending).
bool busier(const top_row& a, const top_row& b, top_sort by) {
  if (by == top_sort::mailbox) {
    if (a.mailbox != b.mailbox)
      return a.mailbox > b.mailbox;
    if (a.msgs_per_sec != b.msgs_per_sec)
      return a.msgs_per_sec > b.msgs_per_sec;
  } else {
    if (a.msgs_per_sec != b.msgs_per_sec)
      return a.msgs_per_sec > b.msgs_per_sec;
    if (a.mailbox != b.mailbox)
      return a.mailbox > b.mailbox;
  }
  return std::tie(a.node, a.path) < std::tie(b.node, b.path);
}

} // namespace

std::string to_string(top_sort x) {
  return x == top_sort::mailbox ? "mailbox" : "rate";
}

std::vector<top_row> top_rows(const wire::ClusterSnapshot& snap, top_sort by) {
  std::vector<top_row> out;
  for (auto& ns : snap.nodes())
    for (auto& a : ns.actors()) {
      top_row row;
      // Where it runs: the listing node unless the actor says otherwise.
      row.node =
          detail::one_line(a.node().empty() ? ns.member().name() : a.node());
      row.path = detail::one_line(a.path());
      row.type = detail::one_line(a.type());
      row.status = a.status();
      row.restarts = a.restarts();
      row.mailbox = a.figures().mailbox();
      row.msgs_per_sec = a.figures().msgs_per_sec();
      out.push_back(std::move(row));
    }
  std::stable_sort(out.begin(), out.end(),
                   [by](const top_row& a, const top_row& b) {
                     return busier(a, b, by);
                   });
  return out;
}

top_screen render_top(const wire::ClusterSnapshot& snap, top_sort by) {
  auto rows = top_rows(snap, by);
  top_screen out;
  size_t unreachable = 0;
  std::string names; // of the unreachable nodes
  for (auto i : detail::nodes_by_name(snap))
    if (!snap.nodes(i).reachable()) {
      names += ++unreachable == 1 ? " (" : ", ";
      names += detail::one_line(snap.nodes(i).member().name());
    }
  if (unreachable > 0)
    names += ')';
  auto answered_by = snap.answered_by().empty()
                         ? std::string{"?"}
                         : detail::one_line(snap.answered_by());
  out.header = fmt::format(
      "cluster via {}: {}, {} unreachable{}, {}  sort: {}", answered_by,
      plural(static_cast<size_t>(snap.nodes_size()), "node"), unreachable,
      names, plural(rows.size(), "actor"), to_string(by));
  detail::table t;
  t.row({{"NODE"},
         {"PATH"},
         {"TYPE"},
         {"STATUS"},
         {"RESTARTS", {}, true},
         {"MAILBOX", {}, true},
         {"MSGS/S", {}, true}});
  for (auto& r : rows)
    t.row({{r.node},
           {r.path},
           {r.type},
           {detail::name_of(r.status)},
           {std::to_string(r.restarts), {}, true},
           {std::to_string(r.mailbox), {}, true},
           {detail::format_rate(r.msgs_per_sec), {}, true}});
  auto text = t.render(false);
  size_t begin = 0;
  for (auto end = text.find('\n'); end != std::string::npos;
       begin = end + 1, end = text.find('\n', begin)) {
    auto line = text.substr(begin, end - begin);
    if (begin == 0)
      out.columns = std::move(line);
    else
      out.rows.push_back(std::move(line));
  }
  return out;
}

top_action top_key(int key) {
  switch (key) {
  case 'm':
  case 'M':
    return top_action::sort_by_mailbox;
  case 'r':
  case 'R':
    return top_action::sort_by_rate;
  case 'q':
  case 'Q':
  case 3: // Ctrl-C, when the terminal passes it on as a key
    return top_action::quit;
  default:
    return top_action::none;
  }
}

std::string top_status(const std::string& error) {
  if (!error.empty())
    return "refresh failed: " + detail::one_line(error) +
           "  (retrying; q quit)";
  return "m sort by mailbox  r sort by rate  q quit";
}

} // namespace troupe::tool
