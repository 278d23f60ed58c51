// SPDX-License-Identifier: Apache-2.0
#include "cluster.hpp"

#include <cstdlib>
#include <optional>

namespace troupe::sim {

using namespace troupe::cluster;

namespace {

enum class kind : uint8_t {
  tick,       // a node's heartbeat interval: membership::tick
  gossip,     // a node's gossip interval: start rounds
  hb_request, // monitor -> watched member
  hb_answer,  // watched member -> monitor (its incarnation in `word`)
  status,     // round 1: the view's digest (in `word`)
  digests,    // round 2: each record's digest (payload)
  delta,      // round 3: records that differ, names wanted (payload)
  reply,      // round 4: the records wanted (payload)
  push,       // a node's timer: push what changed
  pushed,     // the records that changed (payload)
};

struct event {
  kind what;
  uint32_t to;
  uint32_t from;
  uint32_t payload;
  uint64_t word;
};

struct payload {
  std::vector<std::pair<std::string, uint64_t>> digests;
  gossip_delta delta;
};

constexpr uint64_t header_bytes = 16;

uint64_t size_of(const member_record& r) {
  uint64_t n = r.name.size() + 8 + 1 + r.endpoint.size();
  for (auto& [observer, o] : r.observations)
    n += observer.size() + 17;
  return n;
}

std::string name_of(size_t i) {
  return "n" + std::to_string(i);
}

size_t index_of(const std::string& name) {
  return std::strtoul(name.c_str() + 1, nullptr, 10);
}

} // namespace

struct cluster_sim::impl {
  struct node_state {
    std::unique_ptr<membership> m;
    bool dead = false;
    micros frozen_until = 0;
    bool push_pending = false;
  };

  sim_settings cfg;
  network net;
  event_wheel<event> wheel;
  std::vector<node_state> nodes;
  std::vector<counts> sent;
  std::vector<std::optional<payload>> pool;
  std::vector<uint32_t> free_slots;
  std::vector<down_event> downs;
  std::vector<std::pair<micros, size_t>> fences;
  uint64_t suspicious = 0;

  impl(size_t n, sim_settings c)
      : cfg(c)
      , net(n, c.net, c.seed) {}

  static membership::time_point tp(micros t) {
    return membership::time_point{} + std::chrono::microseconds{t};
  }

  std::unique_ptr<membership> make(size_t i, uint64_t incarnation, micros t) {
    return std::make_unique<membership>(member_key{name_of(i), incarnation},
                                        "10.0." + std::to_string(i / 250) +
                                            "." + std::to_string(i % 250) +
                                            ":4000",
                                        cfg.membership, tp(t));
  }

  bool running(size_t i) const {
    return !nodes[i].dead && nodes[i].frozen_until <= wheel.now();
  }

  uint32_t store(payload p) {
    if (free_slots.empty()) {
      pool.emplace_back(std::move(p));
      return static_cast<uint32_t>(pool.size() - 1);
    }
    auto slot = free_slots.back();
    free_slots.pop_back();
    pool[slot] = std::move(p);
    return slot;
  }

  payload take(uint32_t slot) {
    auto p = std::move(*pool[slot]);
    pool[slot].reset();
    free_slots.push_back(slot);
    return p;
  }

  void send(kind what, size_t from, size_t to, uint64_t word, uint64_t bytes,
            std::optional<payload> p = std::nullopt) {
    auto& c = sent[from];
    ++c.messages;
    c.bytes += header_bytes + bytes;
    if (what == kind::hb_request || what == kind::hb_answer)
      ++c.heartbeats;
    auto at = net.deliver_at(from, to, wheel.now());
    if (at < 0)
      return;
    uint32_t slot = p ? store(std::move(*p)) : UINT32_MAX;
    wheel.at(at, event{what, static_cast<uint32_t>(to),
                       static_cast<uint32_t>(from), slot, word});
  }

  void start(size_t i, micros t) {
    std::uniform_int_distribution<micros> hb(
        0, cfg.membership.heartbeat_interval.count() * 1000 - 1);
    std::uniform_int_distribution<micros> gi(0, cfg.gossip_interval - 1);
    wheel.at(t + hb(net.rng()),
             event{kind::tick, static_cast<uint32_t>(i), 0, UINT32_MAX, 0});
    wheel.at(t + gi(net.rng()),
             event{kind::gossip, static_cast<uint32_t>(i), 0, UINT32_MAX, 0});
  }

  void maybe_push(size_t i) {
    auto& n = nodes[i];
    if (cfg.push_delay <= 0 || n.push_pending || !n.m->has_changes())
      return;
    n.push_pending = true;
    wheel.at(wheel.now() + cfg.push_delay,
             event{kind::push, static_cast<uint32_t>(i), 0, UINT32_MAX, 0});
  }

  void on_push(size_t i) {
    auto& n = nodes[i];
    n.push_pending = false;
    if (!running(i))
      return;
    auto changes = n.m->take_changes();
    uint64_t bytes = 0;
    for (auto& r : changes)
      bytes += size_of(r);
    for (auto& p : n.m->gossip_partners(cfg.push_fanout, net.rng()())) {
      payload out;
      out.delta.records = changes;
      send(kind::pushed, i, index_of(p.name), 0, bytes, std::move(out));
    }
  }

  /// A heartbeat and its answer, drawn at once: both legs' loss and
  /// latency now, and the answer handed to the monitor with its arrival
  /// time (before its next tick) if the member runs now. Two events fewer
  /// per heartbeat, which is most of the simulation's events.
  void heartbeat(size_t from, size_t to) {
    auto& c = sent[from];
    ++c.messages;
    ++c.heartbeats;
    c.bytes += header_bytes + 8;
    auto there = net.deliver_at(from, to, wheel.now());
    if (there < 0 || nodes[to].dead || nodes[to].frozen_until > there)
      return;
    auto& a = sent[to];
    ++a.messages;
    ++a.heartbeats;
    a.bytes += header_bytes + 16;
    auto back = net.deliver_at(to, from, there);
    if (back < 0)
      return;
    nodes[from].m->heard(nodes[to].m->self(), tp(back));
  }

  void on_tick(size_t i, micros t) {
    auto& n = nodes[i];
    if (n.dead)
      return;
    auto next = std::max(t, n.frozen_until) +
                cfg.membership.heartbeat_interval.count() * 1000;
    if (n.frozen_until > t) {
      wheel.at(n.frozen_until,
               event{kind::tick, static_cast<uint32_t>(i), 0, UINT32_MAX, 0});
      return;
    }
    auto r = n.m->tick(tp(t));
    if (!n.m->unreachable().empty())
      ++suspicious;
    for (auto& d : r.downed)
      downs.push_back({t, i, index_of(d.name)});
    if (r.fenced) {
      // Fenced: a new incarnation that rejoins through the seed.
      fences.emplace_back(t, i);
      n.m = make(i, n.m->self().incarnation + 1, t);
    }
    for (auto& x : r.heartbeat_to)
      heartbeat(i, index_of(x.name));
    wheel.at(next,
             event{kind::tick, static_cast<uint32_t>(i), 0, UINT32_MAX, 0});
    maybe_push(i);
  }

  void on_gossip(size_t i, micros t) {
    auto& n = nodes[i];
    if (n.dead)
      return;
    if (n.frozen_until > t) {
      wheel.at(n.frozen_until,
               event{kind::gossip, static_cast<uint32_t>(i), 0, UINT32_MAX, 0});
      return;
    }
    auto partners = n.m->gossip_partners(cfg.fanout, net.rng()());
    if (partners.empty() && i != 0)
      partners.push_back({name_of(0), 0}); // alone: the seed
    for (auto& p : partners)
      send(kind::status, i, index_of(p.name), n.m->view().digest(), 8);
    wheel.at(t + cfg.gossip_interval,
             event{kind::gossip, static_cast<uint32_t>(i), 0, UINT32_MAX, 0});
  }

  void on_message(const event& e, micros t) {
    std::optional<payload> p;
    if (e.payload != UINT32_MAX)
      p = take(e.payload);
    size_t to = e.to;
    size_t from = e.from;
    if (!running(to))
      return;
    auto& m = *nodes[to].m;
    switch (e.what) {
    case kind::hb_request:
      send(kind::hb_answer, to, from, m.self().incarnation, 16);
      break;
    case kind::hb_answer:
      m.heard({name_of(from), e.word}, tp(t));
      break;
    case kind::status:
      if (e.word != m.view().digest()) {
        payload out;
        out.digests = m.view().digests();
        uint64_t bytes = 0;
        for (auto& d : out.digests)
          bytes += d.first.size() + 8;
        send(kind::digests, to, from, 0, bytes, std::move(out));
      }
      break;
    case kind::digests: {
      payload out;
      out.delta = m.view().delta_for(p->digests);
      uint64_t bytes = 0;
      for (auto& r : out.delta.records)
        bytes += size_of(r);
      for (auto& w : out.delta.wanted)
        bytes += w.size();
      send(kind::delta, to, from, 0, bytes, std::move(out));
      break;
    }
    case kind::delta: {
      m.merge(p->delta.records, tp(t));
      payload out;
      out.delta.records = m.view().records_for(p->delta.wanted);
      uint64_t bytes = 0;
      for (auto& r : out.delta.records)
        bytes += size_of(r);
      if (!out.delta.records.empty())
        send(kind::reply, to, from, 0, bytes, std::move(out));
      break;
    }
    case kind::reply:
    case kind::pushed:
      m.merge(p->delta.records, tp(t));
      break;
    default:
      break;
    }
    maybe_push(to);
  }
};

cluster_sim::cluster_sim(size_t n, sim_settings cfg)
    : d_(std::make_unique<impl>(n, cfg)) {
  d_->nodes.resize(n);
  d_->sent.resize(n);
  std::vector<member_record> all;
  for (size_t i = 0; i < n; ++i) {
    d_->nodes[i].m = d_->make(i, 1, 0);
    all.push_back(*d_->nodes[i].m->view().find(name_of(i)));
  }
  for (size_t i = 0; i < n; ++i) {
    d_->nodes[i].m->merge(all, impl::tp(0));
    d_->start(i, 0);
  }
}

cluster_sim::~cluster_sim() = default;

size_t cluster_sim::join() {
  auto i = d_->nodes.size();
  d_->nodes.emplace_back();
  d_->sent.emplace_back();
  d_->net.side(i, 0);
  d_->nodes[i].m = d_->make(i, 1, now());
  d_->start(i, now());
  return i;
}

void cluster_sim::kill(size_t i) {
  d_->nodes[i].dead = true;
}

void cluster_sim::freeze(size_t i, micros until) {
  d_->nodes[i].frozen_until = until;
}

network& cluster_sim::net() {
  return d_->net;
}

micros cluster_sim::now() const {
  return d_->wheel.now();
}

void cluster_sim::run_until(micros t) {
  d_->wheel.run_until(t, [this](micros at, event& e) {
    switch (e.what) {
    case kind::tick:
      d_->on_tick(e.to, at);
      break;
    case kind::gossip:
      d_->on_gossip(e.to, at);
      break;
    case kind::push:
      d_->on_push(e.to);
      break;
    default:
      d_->on_message(e, at);
    }
  });
}

size_t cluster_sim::size() const {
  return d_->nodes.size();
}

bool cluster_sim::alive(size_t i) const {
  return !d_->nodes[i].dead;
}

const membership& cluster_sim::node(size_t i) const {
  return *d_->nodes[i].m;
}

const member_record* cluster_sim::record(size_t i, size_t j) const {
  return d_->nodes[i].m->view().find(name_of(j));
}

bool cluster_sim::converged() const {
  std::optional<uint64_t> digest;
  for (auto& n : d_->nodes) {
    if (n.dead)
      continue;
    if (!digest)
      digest = n.m->view().digest();
    else if (*digest != n.m->view().digest())
      return false;
  }
  return true;
}

const std::vector<counts>& cluster_sim::sent() const {
  return d_->sent;
}

void cluster_sim::reset_counts() {
  for (auto& c : d_->sent)
    c = counts{};
}

const std::vector<cluster_sim::down_event>& cluster_sim::downs() const {
  return d_->downs;
}

const std::vector<std::pair<micros, size_t>>& cluster_sim::fences() const {
  return d_->fences;
}

uint64_t cluster_sim::suspicious_ticks() const {
  return d_->suspicious;
}

} // namespace troupe::sim
