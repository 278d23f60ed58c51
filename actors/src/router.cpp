// SPDX-License-Identifier: Apache-2.0
#include "troupe/actors/router.hpp"

#include <algorithm>
#include <random>

#include <caf/actor_cast.hpp>
#include <caf/message_view.hpp>

#include "troupe/actor/spawn.hpp"
#include "troupe/error.hpp"
#include "troupe/log.hpp"

namespace troupe::actors {

const char* to_string(routing x) noexcept {
  switch (x) {
    case routing::round_robin:
      return "round_robin";
    case routing::random:
      return "random";
    case routing::smallest_mailbox:
      return "smallest_mailbox";
    case routing::consistent_hash:
      return "consistent_hash";
    case routing::broadcast:
      return "broadcast";
  }
  return "?";
}

namespace {

/// FNV-1a, then MurmurHash3's finalizer: FNV alone leaves the high bits
/// of keys that differ only at the end close together on the ring.
uint64_t hash(const std::string& x) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : x) {
    h ^= c;
    h *= 1099511628211ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

struct routee {
  caf::actor hdl;
  // smallest_mailbox: last reported depth, and messages sent in all / when
  // that depth was asked for.
  uint64_t depth = 0;
  uint64_t sent = 0;
  uint64_t sent_at_ask = 0;

  uint64_t estimate() const {
    return depth + (sent - sent_at_ask);
  }
};

struct router_state {
  static inline const char* name = "troupe.actors.router";
  router_options opts;
  std::vector<routee> routees;
  std::vector<std::pair<uint64_t, caf::actor_addr>> ring; // sorted
  size_t next = 0;
  uint64_t routed = 0;
  std::minstd_rand rng;
};

using router_actor = stateful_actor<router_state>;

void build_ring(router_actor* self) {
  auto& st = self->state;
  st.ring.clear();
  for (auto& r : st.routees) {
    auto base = std::to_string(r.hdl.id()) + "@" + to_string(r.hdl.node());
    for (size_t k = 0; k < st.opts.virtual_nodes; ++k)
      st.ring.emplace_back(hash(base + "#" + std::to_string(k)),
                           r.hdl.address());
  }
  std::sort(st.ring.begin(), st.ring.end());
}

void ask_depths(router_actor* self) {
  for (auto& r : self->state.routees) {
    r.sent_at_ask = r.sent;
    auto addr = r.hdl.address();
    auto asked = r.sent;
    self
      ->request<caf::message_priority::high>(r.hdl, caf::infinite,
                                             mailbox_depth_atom::value)
      .then(
        [self, addr, asked](uint64_t depth) {
          for (auto& x : self->state.routees)
            if (x.hdl.address() == addr) {
              x.depth = depth;
              x.sent_at_ask = asked;
            }
        },
        [](caf::error&) {
          // Not a troupe actor (or gone): keep counting what we sent.
        });
  }
}

void add(router_actor* self, caf::actor hdl) {
  auto& st = self->state;
  if (!hdl)
    return;
  for (auto& r : st.routees)
    if (r.hdl == hdl)
      return;
  self->monitor(hdl);
  st.routees.push_back(routee{std::move(hdl)});
  if (st.opts.how == routing::consistent_hash)
    build_ring(self);
}

void remove(router_actor* self, const caf::actor_addr& addr) {
  auto& st = self->state;
  auto i = std::find_if(st.routees.begin(), st.routees.end(),
                        [&](const routee& r) { return r.hdl.address() == addr; });
  if (i == st.routees.end())
    return;
  st.routees.erase(i);
  if (st.opts.how == routing::consistent_hash)
    build_ring(self);
}

/// The index of the routee for `msg`, or an error.
caf::expected<size_t> pick(router_actor* self, const caf::message& msg) {
  auto& st = self->state;
  auto n = st.routees.size();
  switch (st.opts.how) {
    case routing::round_robin:
    case routing::broadcast:
      return st.next++ % n;
    case routing::random:
      return std::uniform_int_distribution<size_t>{0, n - 1}(st.rng);
    case routing::smallest_mailbox: {
      size_t best = 0;
      for (size_t i = 1; i < n; ++i)
        if (st.routees[i].estimate() < st.routees[best].estimate())
          best = i;
      return best;
    }
    case routing::consistent_hash: {
      auto key = st.opts.key(msg);
      if (!key)
        return make_error(errc::rejected_message,
                          "consistent-hash router: the message has no key");
      auto h = hash(*key);
      auto i = std::lower_bound(
        st.ring.begin(), st.ring.end(), h,
        [](const auto& point, uint64_t x) { return point.first < x; });
      if (i == st.ring.end())
        i = st.ring.begin();
      for (size_t k = 0; k < n; ++k)
        if (st.routees[k].hdl.address() == i->second)
          return k;
      return make_error(errc::name_not_found, "hash ring out of date");
    }
  }
  return make_error(errc::bad_config, "unknown routing");
}

caf::result<caf::message> route(router_actor* self, caf::message_view& x) {
  auto& st = self->state;
  auto msg = x.move_content_to_message();
  if (st.routees.empty())
    return make_error(errc::name_not_found, "the router has no routees");
  auto idx = pick(self, msg);
  if (!idx) {
    log(log_level::warn, "router: " + describe(idx.error()));
    return std::move(idx.error());
  }
  if (st.opts.how == routing::broadcast) {
    // The copies of a request go anonymously: only one answer reaches the
    // requester. One-way copies keep their sender.
    auto sender = self->current_message_id().is_request()
                    ? caf::strong_actor_ptr{}
                    : self->current_sender();
    for (size_t i = 0; i < st.routees.size(); ++i)
      if (i != *idx)
        caf::actor_cast<caf::abstract_actor*>(st.routees[i].hdl)
          ->enqueue(sender, caf::make_message_id(), msg, self->context());
  }
  auto& r = st.routees[*idx];
  ++r.sent;
  if (st.opts.how == routing::smallest_mailbox
      && ++st.routed % st.opts.depth_refresh == 0)
    ask_depths(self);
  return self->delegate(r.hdl, std::move(msg));
}

caf::behavior router(router_actor* self, std::vector<caf::actor> routees,
                     router_options opts) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.rng.seed(static_cast<std::minstd_rand::result_type>(
    st.opts.seed != 0 ? st.opts.seed : self->id()));
  if (st.opts.depth_refresh == 0)
    st.opts.depth_refresh = 1;
  for (auto& r : routees)
    add(self, r);
  if (st.opts.how == routing::smallest_mailbox)
    ask_depths(self);
  self->set_down_handler(
    [self](caf::down_msg& dm) { remove(self, dm.source); });
  self->set_default_handler(
    [self](caf::scheduled_actor*, caf::message_view& x) {
      return route(self, x);
    });
  return {
    [self](add_routee_atom, caf::actor& hdl) { add(self, std::move(hdl)); },
    [self](remove_routee_atom, const caf::actor& hdl) {
      self->demonitor(hdl);
      remove(self, hdl.address());
    },
    [self](get_routees_atom) {
      std::vector<caf::actor> result;
      for (auto& r : self->state.routees)
        result.push_back(r.hdl);
      return result;
    },
  };
}

} // namespace

caf::expected<caf::actor> spawn_router(caf::actor_system& sys,
                                       std::vector<caf::actor> routees,
                                       router_options opts) {
  if (opts.how == routing::consistent_hash) {
    if (!opts.key)
      return make_error(errc::bad_config,
                        "a consistent-hash router needs a key function");
    if (opts.virtual_nodes == 0)
      return make_error(errc::bad_config,
                        "a consistent-hash router needs virtual_nodes > 0");
  }
  return troupe::spawn(sys, router, std::move(routees), std::move(opts));
}

} // namespace troupe::actors
