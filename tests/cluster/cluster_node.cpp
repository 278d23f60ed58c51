// SPDX-License-Identifier: Apache-2.0
// A cluster member for the multi-process tests.
//
//   troupe_cluster_node [node flags] [supervise=N] [children=K]
//                       [max_restarts=R] [period_ms=P] [tally=1]
//
// Registers the actor type "echo" (see echo_actor.hpp) so that other nodes
// can spawn it here, and prints what the tests synchronise on:
//   READY port=<p> name=<n>         once it listens and has joined
//   MEMBER <name> <status> inc=<i>  on every member event
//   CLUSTER up=<n>                  when the number of up members changes
//   WORKERS n=<k>                   when the number of echo workers here
//                                   changes
//   SUPERVISING                     (supervise=N) once N members are up and
//                                   the root supervisor runs its remote
//                                   child "worker" (type "echo", cluster
//                                   name "worker", placement spread); with
//                                   children=K, K of them, "worker-0" to
//                                   "worker-<K-1>" (id and cluster name).
//                                   The root's intensity: max_restarts=R
//                                   (10 unless given) within period_ms=P
//                                   (5000 unless given). With tally=1 the
//                                   children are of type "tally" (see
//                                   tally_actor.hpp; needs --journal).
//   LOCAL <name>                    (local=<name>) once an echo worker
//                                   spawned on this node holds the
//                                   cluster name <name>.
//   ASK ok from=<node>              (ask=<name>) every 100 ms, a Ping to
//   ASK failed <error>              the holder of cluster name <name>
//                                   (looked up each time, 1 s timeout)
//                                   and its outcome; then
//   ASK-KEPT ok from=<node>         the same through the first handle
//   ASK-KEPT failed <error>         found, kept.
#include <atomic>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <troupe/error.hpp>
#include <troupe/node/node.hpp>
#include <troupe/supervision/supervisor.hpp>

#include "echo_actor.hpp"
#include "tally_actor.hpp"

namespace {

std::mutex out_mtx;
std::atomic<int> workers{0};

void say(const std::string& line) {
  std::lock_guard<std::mutex> guard{out_mtx};
  std::cout << line << std::endl;
}

// An echo actor that counts itself in `workers`.
struct worker_state : troupe::test::echo_state {
  void on_start(troupe::stateful_actor<worker_state>*) {
    say("WORKERS n=" + std::to_string(++workers));
  }
  void on_stop(troupe::stateful_actor<worker_state>*, const caf::error&) {
    say("WORKERS n=" + std::to_string(--workers));
  }
};

caf::behavior worker(troupe::stateful_actor<worker_state>* self,
                     std::string node) {
  return troupe::test::echo_behavior(self, std::move(node));
}

} // namespace

int main(int argc, char** argv) {
  auto parsed = troupe::parse_node_config(argc, argv, true);
  if (!parsed) {
    std::cerr << "cluster_node: " << troupe::describe(parsed.error()) << '\n';
    return 2;
  }
  size_t supervise_at = 0;
  size_t children = 0;
  bool tally = false;
  std::string local_name;
  std::string ask_name;
  troupe::supervisor_flags flags;
  flags.max_restarts = 10;
  for (auto& arg : parsed->positional) {
    auto value = [&](const char* key) -> std::optional<size_t> {
      auto prefix = std::string{key} + "=";
      if (arg.rfind(prefix, 0) != 0)
        return std::nullopt;
      return std::stoul(arg.substr(prefix.size()));
    };
    if (auto x = value("supervise"))
      supervise_at = *x;
    else if (auto x = value("children"))
      children = *x;
    else if (auto x = value("max_restarts"))
      flags.max_restarts = *x;
    else if (auto x = value("period_ms"))
      flags.period = std::chrono::milliseconds{*x};
    else if (auto x = value("tally"))
      tally = *x != 0;
    else if (arg.rfind("local=", 0) == 0)
      local_name = arg.substr(6);
    else if (arg.rfind("ask=", 0) == 0)
      ask_name = arg.substr(4);
  }
  troupe::node n{parsed->config};
  troupe::test::add_echo_types(n);
  n.add_actor_type("echo", [name = n.name()](caf::actor_system& sys,
                                             const caf::message&) {
    return troupe::spawn(sys, worker, name);
  });
  n.add_actor_type("tally", [name = n.name()](caf::actor_system& sys,
                                              const caf::message& args) {
    if (!args.match_elements<std::string>())
      return caf::actor{};
    return troupe::spawn(sys, troupe::test::tally,
                         args.get_as<std::string>(0), name);
  });
  if (auto err = n.start()) {
    std::cerr << "cluster_node: " << troupe::describe(err) << '\n';
    return 1;
  }
  auto printer = n.system().spawn([&n, supervise_at, children, flags,
                                   tally](caf::event_based_actor* self) {
    auto last_up = std::make_shared<size_t>(0);
    auto started = std::make_shared<bool>(false);
    return caf::behavior{
      [=, &n](const troupe::member_event& ev) {
        say("MEMBER " + ev.member.name + " "
            + troupe::to_string(ev.member.status)
            + " inc=" + std::to_string(ev.member.incarnation));
        size_t up = 0;
        for (auto& m : n.members())
          if (m.status == troupe::member_status::up)
            ++up;
        if (up != *last_up) {
          *last_up = up;
          say("CLUSTER up=" + std::to_string(up));
        }
        if (supervise_at > 0 && !*started && up >= supervise_at) {
          *started = true;
          std::vector<troupe::child_spec> specs;
          if (children == 0)
            specs.emplace_back(n.remote_child("worker", "echo", "worker",
                                              troupe::placement::spread));
          for (size_t i = 0; i < children; ++i) {
            auto id = "worker-" + std::to_string(i);
            specs.emplace_back(
              tally ? n.remote_child(id, "tally", id,
                                     troupe::placement::spread,
                                     caf::make_message(id))
                    : n.remote_child(id, "echo", id,
                                     troupe::placement::spread));
          }
          n.start_root(flags, std::move(specs));
          say("SUPERVISING");
        }
      },
    };
  });
  n.track(printer);
  n.subscribe_members(printer);
  if (!local_name.empty()) {
    auto hdl = troupe::spawn(n.system(), worker, n.name());
    n.track(hdl);
    if (auto err = n.register_global(local_name, hdl)) {
      std::cerr << "cluster_node: " << troupe::describe(err) << '\n';
      return 1;
    }
    say("LOCAL " + local_name);
  }
  say("READY port=" + std::to_string(n.port()) + " name=" + n.name());
  std::thread asker;
  if (!ask_name.empty())
    asker = std::thread{[&n, ask_name] {
      using namespace std::chrono_literals;
      caf::scoped_actor self{n.system()};
      caf::actor first; // the first handle found, kept
      auto ask = [&](const std::string& what, const caf::actor& hdl) {
        troupe_test::Ping req;
        req.set_seq(1);
        self->request(hdl, 1s, req)
          .receive(
            [&](const troupe_test::Pong& x) {
              say(what + " ok from=" + x.from());
            },
            [&](const caf::error& err) {
              say(what + " failed " + troupe::describe(err));
            });
      };
      while (!n.stop_requested()) {
        if (auto hdl = n.whereis_global(ask_name)) {
          if (!first)
            first = hdl;
          ask("ASK", hdl);
        } else {
          say("ASK failed no holder of '" + ask_name + "'");
        }
        if (first)
          ask("ASK-KEPT", first);
        std::this_thread::sleep_for(100ms); // a pace, not a sync
      }
    }};
  auto rc = n.run();
  if (asker.joinable())
    asker.join();
  return rc;
}
