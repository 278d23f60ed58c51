// SPDX-License-Identifier: Apache-2.0
#include "dashboard/history.hpp"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "troupe/wire/cluster.pb.h"
#include "troupe/wire/introspect.pb.h"

namespace troupe::dashboard {

namespace {

using nlohmann::json;

// A tenth of a unit is below what a sparkline shows, and keeps the JSON
// short.
double tenth(double x) {
  return std::round(x * 10) / 10;
}

template <class T, class... Columns>
json columns(const ring<T>& r, Columns... cols) {
  json ms = json::array();
  for (size_t i = 0; i < r.size(); ++i)
    ms.push_back(r.at(i).ms);
  json out = {{"ms", std::move(ms)}};
  auto add = [&](const std::pair<const char*, double (*)(const T&)>& col) {
    json xs = json::array();
    for (size_t i = 0; i < r.size(); ++i)
      xs.push_back(col.second(r.at(i).value));
    out[col.first] = std::move(xs);
  };
  (add(cols), ...);
  return out;
}

json node_columns(const ring<history::node_point>& r) {
  using p = history::node_point;
  return columns(
      r,
      std::pair<const char*, double (*)(const p&)>{"msgs_per_sec",
                                                   [](const p& x) {
                                                     return tenth(
                                                         x.msgs_per_sec);
                                                   }},
      std::pair<const char*, double (*)(const p&)>{"mailbox",
                                                   [](const p& x) {
                                                     return double(x.mailbox);
                                                   }},
      std::pair<const char*, double (*)(const p&)>{"restarts",
                                                   [](const p& x) {
                                                     return double(x.restarts);
                                                   }},
      std::pair<const char*, double (*)(const p&)>{
          "dead_letters", [](const p& x) {
            return double(x.dead_letters);
          }});
}

json link_columns(const ring<history::link_point>& r) {
  using p = history::link_point;
  return columns(r,
                 std::pair<const char*, double (*)(const p&)>{
                     "msgs_per_sec",
                     [](const p& x) {
                       return tenth(x.msgs_per_sec);
                     }},
                 std::pair<const char*, double (*)(const p&)>{
                     "bytes_per_sec", [](const p& x) {
                       return std::round(double(x.bytes_per_sec));
                     }});
}

json actor_columns(const ring<history::actor_point>& r) {
  using p = history::actor_point;
  return columns(
      r,
      std::pair<const char*, double (*)(const p&)>{"msgs_per_sec",
                                                   [](const p& x) {
                                                     return tenth(
                                                         x.msgs_per_sec);
                                                   }},
      std::pair<const char*, double (*)(const p&)>{"mailbox", [](const p& x) {
                                                     return double(x.mailbox);
                                                   }});
}

// The keys of the `n` largest by `value` among `xs` (pairs of key, value),
// leaving out zeros: an idle actor is not "busy".
template <class Value>
void top(std::vector<std::pair<const std::string*, Value>>& xs, size_t n,
         std::vector<const std::string*>& out) {
  auto k = std::min(n, xs.size());
  auto by_value = [](auto& a, auto& b) {
    return a.second > b.second;
  };
  std::partial_sort(xs.begin(), xs.begin() + static_cast<ptrdiff_t>(k),
                    xs.end(), by_value);
  for (size_t i = 0; i < k && xs[i].second > 0; ++i)
    out.push_back(xs[i].first);
}

} // namespace

history::history(history_limits limits)
    : limits_(limits) {}

void history::record(int64_t now_ms, const wire::ClusterSnapshot& snap) {
  std::lock_guard<std::mutex> guard{mtx_};
  // Keys of every actor in this sample, with its point.
  std::map<std::string, actor_point> seen;
  std::vector<std::pair<const std::string*, double>> by_rate;
  std::vector<std::pair<const std::string*, uint64_t>> by_mailbox;
  for (auto& ns : snap.nodes()) {
    auto& name = ns.member().name();
    if (!ns.reachable())
      continue; // a gap, not zeros
    node_point total{0, 0, 0, ns.dead_letters()};
    for (auto& a : ns.actors()) {
      auto& f = a.figures();
      total.msgs_per_sec += static_cast<float>(f.msgs_per_sec());
      total.mailbox += static_cast<uint32_t>(f.mailbox());
      total.restarts += a.restarts();
      auto [it, added] =
          seen.emplace(name + ":" + a.path(),
                       actor_point{static_cast<float>(f.msgs_per_sec()),
                                   static_cast<uint32_t>(f.mailbox())});
      if (added) {
        by_rate.emplace_back(&it->first, f.msgs_per_sec());
        by_mailbox.emplace_back(&it->first, f.mailbox());
      }
    }
    nodes_.try_emplace(name, limits_.points, limits_.window_ms)
        .first->second.push(now_ms, total);
    for (auto& l : ns.links()) {
      auto& e =
          links_
              .try_emplace(name + ">" + l.peer(),
                           link_entry{{limits_.points, limits_.window_ms}})
              .first->second;
      if (e.last_ms != 0 && now_ms > e.last_ms) {
        auto dt = static_cast<double>(now_ms - e.last_ms) / 1000.0;
        // Counts that went down belong to a new link: no rate across it.
        auto fresh =
            l.frames_out() < e.frames_out || l.bytes_out() < e.bytes_out;
        link_point p{0, 0};
        if (!fresh) {
          p.msgs_per_sec =
              static_cast<float>((l.frames_out() - e.frames_out) / dt);
          p.bytes_per_sec =
              static_cast<float>((l.bytes_out() - e.bytes_out) / dt);
        }
        e.points.push(now_ms, p);
      }
      e.last_ms = now_ms;
      e.frames_out = l.frames_out();
      e.bytes_out = l.bytes_out();
    }
  }
  std::vector<const std::string*> busy;
  top(by_rate, limits_.top, busy);
  top(by_mailbox, limits_.top, busy);
  for (auto* key : busy)
    actors_.try_emplace(*key, actor_entry{{limits_.points, limits_.window_ms}})
        .first->second.wanted_ms = now_ms;
  for (auto& [key, e] : actors_)
    if (auto i = seen.find(key); i != seen.end())
      e.points.push(now_ms, i->second);
  forget(now_ms);
}

void history::watch(const std::string& key, int64_t now_ms) {
  std::lock_guard<std::mutex> guard{mtx_};
  actors_.try_emplace(key, actor_entry{{limits_.points, limits_.window_ms}})
      .first->second.wanted_ms = now_ms;
  forget(now_ms);
}

void history::forget(int64_t now_ms) {
  auto old = now_ms - limits_.window_ms;
  for (auto i = nodes_.begin(); i != nodes_.end();) {
    i->second.evict(now_ms);
    i = i->second.empty() ? nodes_.erase(i) : std::next(i);
  }
  for (auto i = links_.begin(); i != links_.end();) {
    i->second.points.evict(now_ms);
    i = i->second.last_ms < old ? links_.erase(i) : std::next(i);
  }
  for (auto i = actors_.begin(); i != actors_.end();) {
    i->second.points.evict(now_ms);
    i = i->second.wanted_ms < old ? actors_.erase(i) : std::next(i);
  }
  // Beyond the bound: the least recently wanted go first.
  while (actors_.size() > limits_.max_actors) {
    auto oldest =
        std::min_element(actors_.begin(), actors_.end(), [](auto& a, auto& b) {
          return a.second.wanted_ms < b.second.wanted_ms;
        });
    actors_.erase(oldest);
  }
}

nlohmann::json history::to_json(bool actors) const {
  std::lock_guard<std::mutex> guard{mtx_};
  json nodes = json::object();
  for (auto& [name, r] : nodes_)
    nodes[name] = node_columns(r);
  json links = json::object();
  for (auto& [key, e] : links_)
    links[key] = link_columns(e.points);
  json out = {{"window_ms", limits_.window_ms},
              {"nodes", std::move(nodes)},
              {"links", std::move(links)}};
  if (actors) {
    json xs = json::object();
    for (auto& [key, e] : actors_)
      xs[key] = actor_columns(e.points);
    out["actors"] = std::move(xs);
  }
  return out;
}

nlohmann::json history::actor_json(const std::string& key) const {
  std::lock_guard<std::mutex> guard{mtx_};
  json out;
  if (auto i = actors_.find(key); i != actors_.end())
    out = actor_columns(i->second.points);
  else
    out = {{"ms", json::array()},
           {"msgs_per_sec", json::array()},
           {"mailbox", json::array()}};
  out["key"] = key;
  return out;
}

size_t history::tracked_actors() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return actors_.size();
}

size_t history::heap_bytes() const {
  std::lock_guard<std::mutex> guard{mtx_};
  size_t n = 0;
  for (auto& [name, r] : nodes_)
    n += r.heap_bytes();
  for (auto& [key, e] : links_)
    n += e.points.heap_bytes();
  for (auto& [key, e] : actors_)
    n += e.points.heap_bytes();
  return n;
}

} // namespace troupe::dashboard
