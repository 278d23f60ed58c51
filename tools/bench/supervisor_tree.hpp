// SPDX-License-Identifier: Apache-2.0
// The tree and throughput parts of bench_supervisor.cpp: a supervision tree
// of troupe supervisors vs plain CAF actors that spawn and monitor their
// children, and one troupe actor spawned under a supervisor vs plainly.
#pragma once

#include <atomic>

#include "supervisor_restart.hpp"

namespace bench::sup {

// -- tree ---------------------------------------------------------------------

/// Counts leaves that ran their init function; fulfils `all` at `target`.
struct ready_counter {
  explicit ready_counter(uint64_t n) : target(n) {}
  std::atomic<uint64_t> count{0};
  uint64_t target;
  std::promise<void> all;
  void tick() {
    if (count.fetch_add(1, std::memory_order_relaxed) + 1 == target)
      all.set_value();
  }
};

using ready_ptr = std::shared_ptr<ready_counter>;

struct leaf_state {
  static inline const char* name = "bench.leaf";
};

inline caf::behavior troupe_leaf(troupe::stateful_actor<leaf_state>*,
                                 ready_ptr r) {
  r->tick();
  return {[](int) {}};
}

inline caf::behavior caf_leaf(caf::event_based_actor*, ready_ptr r) {
  r->tick();
  return {[](int) {}};
}

struct caf_node_state {
  std::vector<caf::actor> children;
  bool stopping = false;
  size_t left = 0; // children not yet down while stopping
  caf::error reason;
};

/// Spawns fanout[0] children (leaves at the last level) and monitors them;
/// respawns a child that goes down; on an exit request stops them all at
/// once or (`ordered`) one at a time from the last, then exits.
inline caf::behavior caf_tree(caf::stateful_actor<caf_node_state>* self,
                              std::vector<size_t> fanout, ready_ptr r,
                              bool ordered) {
  auto rest = std::vector<size_t>(fanout.begin() + 1, fanout.end());
  auto make = [=] {
    return rest.empty()
             ? self->spawn<caf::monitored>(caf_leaf, r)
             : self->spawn<caf::monitored>(caf_tree, rest, r, ordered);
  };
  for (size_t i = 0; i < fanout[0]; ++i)
    self->state.children.push_back(make());
  auto stop_next = [self] {
    auto& st = self->state;
    if (st.left == 0)
      return self->quit(st.reason);
    self->send_exit(st.children[st.left - 1], st.reason);
  };
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    // The child an ordered stop waits for first; pointers compared (no
    // reference count touched), as the troupe supervisor does.
    auto is = [&](const caf::actor& c) { return c.compare(dm.source) == 0; };
    auto i = st.stopping && ordered && st.left > 0
                 && is(st.children[st.left - 1])
               ? st.children.begin() + static_cast<std::ptrdiff_t>(st.left - 1)
               : std::find_if(st.children.begin(), st.children.end(), is);
    if (i == st.children.end())
      return;
    if (!st.stopping) {
      *i = make();
    } else if (ordered) {
      --st.left;
      stop_next();
    } else if (--st.left == 0) {
      self->quit(st.reason);
    }
  });
  self->set_exit_handler([=](caf::exit_msg& x) {
    auto& st = self->state;
    if (st.stopping || !x.reason)
      return;
    st.stopping = true;
    st.reason = x.reason;
    st.left = st.children.size();
    if (ordered || st.left == 0)
      return stop_next();
    for (auto& c : st.children)
      self->send_exit(c, st.reason);
  });
  return {[](int) {}};
}

struct tree_sample {
  double start_ms = 0, stop_ms = 0;
};

/// Times `spawn_root(ready)` until every leaf is up, then the shutdown.
template <class SpawnRoot>
tree_sample time_tree(caf::actor_system& sys, uint64_t leaves,
                      SpawnRoot spawn_root) {
  auto r = std::make_shared<ready_counter>(leaves);
  auto ready = r->all.get_future();
  auto t0 = clock::now();
  auto root = spawn_root(r);
  ready.wait();
  tree_sample s;
  s.start_ms = seconds_since(t0) * 1e3;
  s.stop_ms = stop_and_wait(sys, root) * 1e3;
  if (std::getenv("TROUPE_BENCH_VERBOSE") != nullptr)
    std::fprintf(stderr, "  tree: start %.1f ms, shutdown %.1f ms\n",
                 s.start_ms, s.stop_ms);
  return s;
}

inline tree_sample troupe_tree(caf::actor_system& sys, size_t sups,
                               size_t workers) {
  return time_tree(sys, sups * workers, [&](ready_ptr r) {
    std::vector<troupe::child_spec> mids;
    for (size_t i = 0; i < sups; ++i) {
      auto start_mid = [workers, r](caf::actor_system& s) {
        std::vector<troupe::child_spec> ws;
        for (size_t j = 0; j < workers; ++j)
          ws.push_back(spec("worker-" + std::to_string(j),
                            [r](caf::actor_system& s2) {
                              return troupe::spawn(s2, troupe_leaf, r);
                            }));
        return troupe::spawn_supervisor(s, never_give_up(), std::move(ws));
      };
      mids.push_back(spec("sup-" + std::to_string(i), start_mid,
                          troupe::child_kind::supervisor));
    }
    return troupe::spawn_supervisor(sys, never_give_up(), std::move(mids));
  });
}

inline tree_sample caf_tree_run(caf::actor_system& sys, size_t sups,
                                size_t workers, bool ordered) {
  return time_tree(sys, sups * workers, [&](ready_ptr r) {
    return sys.spawn(caf_tree, std::vector<size_t>{sups, workers}, r, ordered);
  });
}

/// One supervisor of `workers` workers, no level between.
inline tree_sample troupe_flat(caf::actor_system& sys, size_t workers) {
  return time_tree(sys, workers, [&](ready_ptr r) {
    std::vector<troupe::child_spec> ws;
    for (size_t j = 0; j < workers; ++j)
      ws.push_back(spec("worker-" + std::to_string(j),
                        [r](caf::actor_system& s) {
                          return troupe::spawn(s, troupe_leaf, r);
                        }));
    return troupe::spawn_supervisor(sys, never_give_up(), std::move(ws));
  });
}

/// The plain CAF actor of `caf_tree` with `workers` leaves, stopping them
/// one at a time in reverse.
inline tree_sample caf_flat(caf::actor_system& sys, size_t workers) {
  return time_tree(sys, workers, [&](ready_ptr r) {
    return sys.spawn(caf_tree, std::vector<size_t>{workers}, r, true);
  });
}

// -- supervised vs unsupervised throughput ------------------------------------

using inc_atom = caf::atom_constant<caf::atom("inc")>;

struct counter_state {
  static inline const char* name = "bench.counter";
  uint64_t count = 0;
};

inline caf::behavior
troupe_counter(troupe::stateful_actor<counter_state>* self) {
  return {
    [self](inc_atom, uint64_t) { ++self->state.count; },
    [self](count_atom) { return self->state.count; },
  };
}

/// Sends n one-way messages, then a request; its answer stops the clock.
inline caf::behavior sender(caf::event_based_actor* self, caf::actor target,
                            uint64_t n,
                            std::shared_ptr<std::promise<double>> out) {
  return {[=](go_atom) {
    auto t0 = clock::now();
    for (uint64_t i = 0; i < n; ++i)
      self->send(target, inc_atom::value, i);
    self->request(target, caf::infinite, count_atom::value)
      .then(
        [=](uint64_t k) {
          if (k != n)
            die("the counter saw " + std::to_string(k) + " messages");
          out->set_value(n / seconds_since(t0));
          self->quit();
        },
        [](caf::error& e) { die("count: " + caf::to_string(e)); });
  }};
}

/// Messages per second to a troupe counter, supervised or not.
inline double throughput(caf::actor_system& sys, uint64_t n, bool supervised) {
  caf::actor owner, target;
  if (supervised) {
    owner = troupe::spawn_supervisor(
      sys, never_give_up(), {spec("counter", [](caf::actor_system& s) {
        return troupe::spawn(s, troupe_counter);
      })});
    target = first_child(sys, owner).handle;
  } else {
    owner = target = troupe::spawn(sys, troupe_counter);
  }
  auto out = std::make_shared<std::promise<double>>();
  auto rate = out->get_future();
  // Detached: the sender's thread does not depend on where the scheduler
  // places it relative to the counter (a 5-10% swing on two cores).
  caf::anon_send(sys.spawn<caf::detached>(sender, target, n, out),
                 go_atom::value);
  auto result = rate.get();
  stop_and_wait(sys, owner);
  return result;
}

} // namespace bench::sup
