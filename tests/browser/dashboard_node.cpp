// SPDX-License-Identifier: Apache-2.0
// A node for the dashboard's browser test: a small supervision tree with
// traffic, so the page has something live to show.
//
//   troupe_dashboard_node [node flags] [shops=S] [clerks=C] [stuck=1]
//
//   /root              one_for_one
//     /root/shop       one_for_one, its workers clerk-0 .. clerk-<C-1>
//                      (C = 4 unless given); with shops=S (S > 1),
//                      /root/shop, /root/shop-1 .. /root/shop-<S-1>
//     /root/ticker     sends itself a tick every 50 ms (a rate to show)
//     /root/stuck      (with stuck=1) a supervisor that lists no children;
//                      once respawned (`troupe kill` it), it never lists
//                      them: the snapshot marks it "children not reported
//                      in time"
//
// clerk-0 of /root/shop holds the cluster name "clerk0@<node>", and every
// 100 ms each node sends one message to every other member's clerk-0, so
// the direct links carry something to draw.
//
// (tools/bench/dashboard_page.py grows it to 10,000 actors.)
//
// Prints "READY port=<p> name=<n>" once it listens (and has joined its
// seeds); the node itself logs its dashboard's address.
#include <chrono>
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <thread>
#include <optional>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/send.hpp>
#include <troupe/actor/spawn.hpp>
#include <troupe/error.hpp>
#include <troupe/node/node.hpp>
#include <troupe/supervision/supervisor.hpp>

namespace {

using tick_atom = caf::atom_constant<caf::atom("tick")>;

struct clerk_state {
  static inline const char* name = "clerk";
  int64_t sum = 0;
};

caf::behavior clerk(troupe::stateful_actor<clerk_state>* self) {
  return {[self](int64_t x) { return self->state.sum += x; }};
}

struct ticker_state {
  static inline const char* name = "ticker";
  uint64_t ticks = 0;
};

caf::behavior ticker(troupe::stateful_actor<ticker_state>* self) {
  self->send(self, tick_atom::value);
  return {[self](tick_atom) {
    ++self->state.ticks;
    self->delayed_send(self, std::chrono::milliseconds{50}, tick_atom::value);
  }};
}

// Stands in for a supervisor that is too busy to list its children: the
// requests it will not answer are kept (not dropped, which would answer
// them with an error), the oldest let go beyond a bound.
struct stuck_state {
  static inline const char* name = "stuck";
  std::vector<caf::response_promise> unanswered;
};

caf::behavior stuck(troupe::stateful_actor<stuck_state>* self, bool answers) {
  return {[self, answers](troupe::children_atom)
            -> caf::result<std::vector<troupe::child_status>> {
    if (answers)
      return std::vector<troupe::child_status>{};
    auto& xs = self->state.unanswered;
    if (xs.size() >= 1000)
      xs.erase(xs.begin());
    xs.push_back(self->make_response_promise());
    return caf::delegated<std::vector<troupe::child_status>>{};
  }};
}

template <class F>
troupe::child_spec worker(std::string id, F fun) {
  troupe::child_spec spec;
  spec.id = std::move(id);
  spec.start = [fun](caf::actor_system& sys) { return troupe::spawn(sys, fun); };
  return spec;
}

} // namespace

int main(int argc, char** argv) {
  auto parsed = troupe::parse_node_config(argc, argv, true);
  if (!parsed) {
    std::cerr << "dashboard_node: " << troupe::describe(parsed.error()) << '\n';
    return 2;
  }
  troupe::node n{parsed->config};
  if (auto err = n.start()) {
    std::cerr << "dashboard_node: " << troupe::describe(err) << '\n';
    return 1;
  }
  size_t shops = 1;
  size_t per_shop = 4;
  bool with_stuck = false;
  for (auto& arg : parsed->positional) {
    auto value = [&](const char* key) -> std::optional<size_t> {
      auto prefix = std::string{key} + "=";
      if (arg.rfind(prefix, 0) != 0)
        return std::nullopt;
      return std::stoul(arg.substr(prefix.size()));
    };
    if (auto x = value("shops")) {
      shops = std::max<size_t>(1, *x);
    } else if (auto x = value("clerks")) {
      per_shop = *x;
    } else if (auto x = value("stuck")) {
      with_stuck = *x != 0;
    } else {
      std::cerr << "dashboard_node: unknown argument '" << arg << "'\n";
      return 2;
    }
  }
  std::vector<troupe::child_spec> clerks;
  for (size_t i = 0; i < per_shop; ++i)
    clerks.push_back(worker("clerk-" + std::to_string(i), clerk));
  auto first_shop = clerks;
  if (!first_shop.empty())
    first_shop[0].global_name = "clerk0@" + n.name();
  std::vector<troupe::child_spec> top;
  for (size_t i = 0; i < shops; ++i) {
    troupe::child_spec shop;
    shop.id = i == 0 ? std::string{"shop"} : "shop-" + std::to_string(i);
    shop.kind = troupe::child_kind::supervisor;
    shop.start = [kids = i == 0 ? first_shop : clerks](caf::actor_system& sys) {
      troupe::supervisor_flags flags;
      flags.max_restarts = 100;
      return troupe::spawn_supervisor(sys, flags, kids);
    };
    top.push_back(std::move(shop));
  }
  top.push_back(worker("ticker", ticker));
  if (with_stuck) {
    troupe::child_spec spec;
    spec.id = "stuck";
    spec.kind = troupe::child_kind::supervisor;
    auto starts = std::make_shared<int>(0);
    // Started by its supervisor, one start at a time.
    spec.start = [starts](caf::actor_system& sys) {
      return troupe::spawn(sys, stuck, ++*starts == 1);
    };
    top.push_back(std::move(spec));
  }
  troupe::supervisor_flags root;
  root.max_restarts = 100;
  n.start_root(root, std::move(top));
  std::cout << "READY port=" << n.port() << " name=" << n.name() << std::endl;
  // Traffic between the members, until the node is asked to stop.
  std::thread caller([&n] {
    std::map<std::string, caf::actor> clerks;
    while (!n.stop_requested()) {
      for (auto& m : n.members()) {
        if (m.name == n.name() || m.status != troupe::member_status::up)
          continue;
        auto& ref = clerks[m.name];
        if (!ref)
          ref = n.global_ref("clerk0@" + m.name);
        caf::anon_send(ref, int64_t{1});
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{100});
    }
  });
  auto rc = n.run();
  caller.join();
  return rc;
}
