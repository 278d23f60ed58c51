// SPDX-License-Identifier: Apache-2.0
#include "dashboard/state.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "troupe/wire/cluster.pb.h"
#include "troupe/wire/introspect.pb.h"

namespace troupe::dashboard {

namespace {

using nlohmann::json;

const char* status_name(wire::ActorInfo::Status x) {
  switch (x) {
    case wire::ActorInfo::RUNNING:
      return "running";
    case wire::ActorInfo::RESTARTING:
      return "restarting";
    case wire::ActorInfo::STOPPED:
      return "stopped";
    default:
      return "unknown";
  }
}

const char* restart_name(wire::ActorInfo::Restart x) {
  switch (x) {
    case wire::ActorInfo::PERMANENT:
      return "permanent";
    case wire::ActorInfo::TRANSIENT:
      return "transient";
    case wire::ActorInfo::TEMPORARY:
      return "temporary";
    default:
      return "";
  }
}

const char* member_status_name(wire::MemberStatus x) {
  switch (x) {
    case wire::JOINING:
      return "joining";
    case wire::UP:
      return "up";
    case wire::SUSPECT:
      return "suspect";
    case wire::DOWN:
      return "down";
    case wire::LEFT:
      return "left";
    default:
      return "unknown";
  }
}

json actor_json(const wire::ActorInfo& a, const std::string& tree,
                bool with_uptime) {
  auto& f = a.figures();
  json out = {
    {"tree", tree},
    {"path", a.path()},
    {"parent", a.parent().empty() ? "" : tree + ":" + a.parent()},
    {"id", a.id()},
    {"node", a.node()},
    {"type", a.type()},
    {"kind", a.kind() == wire::ActorInfo::SUPERVISOR ? "supervisor" : "worker"},
    {"status", status_name(a.status())},
    {"restarts", a.restarts()},
    {"last_failure", a.last_failure()},
    {"last_failure_ms", a.last_failure_unix_ms()},
    {"global_name", a.global_name()},
    {"restart", restart_name(a.restart())},
    {"messages", f.messages()},
    {"mailbox", f.mailbox()},
    {"handler_ns", f.handler_ns_total()},
    {"handler_ns_max", f.handler_ns_max()},
    // A tenth of a message per second is below what a viewer reads, and
    // keeps float noise from marking an idle actor changed.
    {"msgs_per_sec", std::round(f.msgs_per_sec() * 10) / 10},
  };
  if (f.mailbox_bound() > 0) {
    out["mailbox_bound"] = f.mailbox_bound();
    out["overflow"] = f.overflow();
    out["dropped"] = f.dropped();
  }
  if (a.failures_size() > 0) {
    json failures = json::array();
    for (auto& x : a.failures())
      failures.push_back({{"ms", x.unix_ms()},
                          {"failure", x.failure()},
                          {"decision", x.decision()}});
    out["failures"] = std::move(failures);
  }
  if (a.children_unknown())
    out["children_unknown"] = true;
  if (a.has_persistence()) {
    auto& p = a.persistence();
    out["persistence"] = {{"id", p.id()},
                          {"last_seq", p.last_seq()},
                          {"epoch", p.epoch()}};
  }
  if (with_uptime)
    out["uptime_ms"] = a.uptime_ms();
  return out;
}

json node_json(const wire::NodeSnapshot& n, const std::string& name,
               bool with_uptime) {
  auto& m = n.member();
  json reasons = json::object();
  for (auto& [reason, count] : n.dead_letters_by_reason())
    reasons[reason] = count;
  json refused = json::object();
  for (auto& [reason, count] : n.refused_by_reason())
    refused[reason] = count;
  json links = json::object();
  for (auto& l : n.links())
    links[l.peer()] = {{"frames_out", l.frames_out()},
                       {"bytes_out", l.bytes_out()},
                       {"frames_in", l.frames_in()},
                       {"bytes_in", l.bytes_in()}};
  json out = {
    {"name", name},
    {"status", member_status_name(m.status())},
    {"incarnation", m.incarnation()},
    {"host", m.host()},
    {"port", m.port()},
    {"reachable", n.reachable()},
    {"error", n.error()},
    {"dead_letters", n.dead_letters()},
    {"dead_letters_by_reason", std::move(reasons)},
    {"mailbox_dropped", n.mailbox_dropped()},
    {"refused_by_reason", std::move(refused)},
    {"link_frames_out", n.link_frames_out()},
    {"link_frames_in", n.link_frames_in()},
    {"links", std::move(links)},
  };
  if (with_uptime)
    out["uptime_ms"] = n.uptime_ms();
  return out;
}

json change_json(const wire::MemberChange& x, const std::string& observer) {
  return {{"observer", observer},       {"seq", x.seq()},
          {"ms", x.unix_ms()},          {"member", x.name()},
          {"incarnation", x.incarnation()}, {"change", x.change()},
          {"why", x.why()},             {"silent_ms", x.silent_ms()}};
}

// Added and changed entries of `after` against `before`, and the keys of
// `before` that `after` lacks.
void diff_map(const json& before, const json& after, json* added,
              json& changed, json& removed) {
  for (auto& [key, value] : after.items()) {
    auto old = before.find(key);
    if (old == before.end())
      (added ? *added : changed)[key] = value;
    else if (*old != value)
      changed[key] = value;
  }
  for (auto& [key, value] : before.items())
    if (!after.contains(key))
      removed.push_back(key);
}

} // namespace

json to_state(const wire::ClusterSnapshot& snap, bool with_uptime) {
  json nodes = json::object();
  json actors = json::object();
  json timeline = json::object();
  for (int i = 0; i < snap.nodes_size(); ++i) {
    auto& n = snap.nodes(i);
    // Right after start, a node's own entry may not be in its member
    // table yet: its snapshot (the first) then has no name but is the
    // answering node's.
    auto tree = n.member().name();
    if (tree.empty() && i == 0)
      tree = snap.answered_by();
    nodes[tree] = node_json(n, tree, with_uptime);
    for (auto& a : n.actors())
      actors[tree + ":" + a.path()] = actor_json(a, tree, with_uptime);
    for (auto& x : n.member_changes())
      timeline[timeline_key(tree, x.seq())] = change_json(x, tree);
  }
  return {{"answered_by", snap.answered_by()},
          {"nodes", std::move(nodes)},
          {"actors", std::move(actors)},
          {"timeline", std::move(timeline)}};
}

std::string timeline_key(const std::string& observer, uint64_t seq) {
  // Zero-padded: the keys of one observer sort by time.
  auto n = std::to_string(seq);
  return observer + ":" + std::string(n.size() < 8 ? 8 - n.size() : 0, '0')
         + n;
}

void carry_timeline(const json& before, json& after, size_t max_entries) {
  auto old = before.find("timeline");
  if (old == before.end())
    return;
  auto& now = after["timeline"];
  auto& nodes = after["nodes"];
  for (auto& [key, value] : old->items()) {
    if (now.contains(key))
      continue;
    auto observer = value.value("observer", "");
    auto n = nodes.find(observer);
    // An observer that answers dropped the entry from its ring itself.
    if (n != nodes.end() && n->value("reachable", false))
      continue;
    now[key] = value;
  }
  if (now.size() <= max_entries)
    return;
  std::vector<std::pair<int64_t, std::string>> by_time;
  for (auto& [key, value] : now.items())
    by_time.emplace_back(value.value("ms", int64_t{0}), key);
  std::sort(by_time.begin(), by_time.end());
  for (size_t i = 0; i + max_entries < by_time.size(); ++i)
    now.erase(by_time[i].second);
}

json diff(const json& before, const json& after) {
  json delta = {{"nodes", json::object()},
                {"nodes_removed", json::array()},
                {"added", json::object()},
                {"changed", json::object()},
                {"removed", json::array()}};
  static const json none = json::object();
  auto part = [](const json& x, const char* key) -> const json& {
    auto i = x.find(key);
    return i != x.end() ? *i : none;
  };
  diff_map(part(before, "nodes"), part(after, "nodes"), nullptr,
           delta["nodes"], delta["nodes_removed"]);
  diff_map(part(before, "actors"), part(after, "actors"), &delta["added"],
           delta["changed"], delta["removed"]);
  json timeline = json::object();
  json timeline_removed = json::array();
  diff_map(part(before, "timeline"), part(after, "timeline"), nullptr,
           timeline, timeline_removed);
  if (!timeline.empty())
    delta["timeline"] = std::move(timeline);
  if (!timeline_removed.empty())
    delta["timeline_removed"] = std::move(timeline_removed);
  return delta;
}

bool delta_empty(const json& d) {
  for (auto* key : {"nodes", "nodes_removed", "added", "changed", "removed",
                    "timeline", "timeline_removed"})
    if (d.contains(key) && !d[key].empty())
      return false;
  return true;
}

void apply(json& state, const json& d) {
  auto& nodes = state["nodes"];
  auto& actors = state["actors"];
  static const json none = json::object();
  // By reference: a range-for over items() of a temporary would dangle.
  auto part = [&](const char* key) -> const json& {
    auto i = d.find(key);
    return i != d.end() ? *i : none;
  };
  for (auto& [key, value] : part("nodes").items())
    nodes[key] = value;
  for (auto& key : part("nodes_removed"))
    nodes.erase(key.get<std::string>());
  for (auto* name : {"added", "changed"})
    for (auto& [key, value] : part(name).items())
      actors[key] = value;
  for (auto& key : part("removed"))
    actors.erase(key.get<std::string>());
  if (d.contains("timeline") || d.contains("timeline_removed")) {
    auto& timeline = state["timeline"];
    for (auto& [key, value] : part("timeline").items())
      timeline[key] = value;
    for (auto& key : part("timeline_removed"))
      timeline.erase(key.get<std::string>());
  }
}

std::string dump(const json& x) {
  return x.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace troupe::dashboard
