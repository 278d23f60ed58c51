// SPDX-License-Identifier: Apache-2.0
// A small cluster: every node can host "greeter" actors; the node started
// with `supervise N` waits until N members are up, then runs a supervision
// tree whose greeters are spread over the other nodes (each bound to a
// cluster-wide name), plus a local sub-tree, and keeps greeting them through
// name-based handles. `tools/dev demo` starts three of these and prints the
// tree with the `troupe` tool.
//
//   cluster [node flags] [supervise N]
//
// Prints "READY port=<p>" once it listens and "SUPERVISING" once the tree
// runs (the demo and the example test wait for these lines).
#include <atomic>
#include <iostream>
#include <mutex>

#include <caf/event_based_actor.hpp>
#include <troupe/error.hpp>
#include <troupe/node/node.hpp>
#include <troupe/supervision/supervisor.hpp>
#include <troupe/wire/proto.hpp>

#include "hello/hello.pb.h"

namespace {

using namespace std::chrono_literals;

std::mutex out_mtx;

void say(const std::string& line) {
  std::lock_guard<std::mutex> guard{out_mtx};
  std::cout << line << std::endl;
}

struct greeter_state {
  static inline const char* name = "greeter";
  uint64_t greeted = 0;
};

caf::behavior greeter(troupe::stateful_actor<greeter_state>* self,
                      std::string node) {
  return {
    [self, node](const hello::Greet& req) {
      hello::Greeting reply;
      reply.set_text("hello, " + req.who());
      reply.set_seq(req.seq());
      reply.set_node(node);
      ++self->state.greeted;
      return reply;
    },
  };
}

// Starts the tree once enough members are up.
struct watcher_state {
  static inline const char* name = "cluster-watcher";
  bool started = false;
};

using tick_atom = caf::atom_constant<caf::atom("tick")>;

struct caller_state {
  static inline const char* name = "caller";
  uint64_t seq = 0;
};

// Greets each named greeter every 100 ms, wherever it runs now.
caf::behavior caller(troupe::stateful_actor<caller_state>* self,
                     std::vector<caf::actor> targets) {
  self->send(self, tick_atom::value);
  return {
    [self, targets](tick_atom) {
      for (auto& t : targets) {
        hello::Greet g;
        g.set_who("caller");
        g.set_seq(++self->state.seq);
        self->request(t, 1s, std::move(g))
          .then([](const hello::Greeting&) {}, [](caf::error&) {});
      }
      self->delayed_send(self, 100ms, tick_atom::value);
    },
  };
}

troupe::child_spec local_greeter(std::string id, std::string node) {
  troupe::child_spec spec;
  spec.id = std::move(id);
  spec.start = [node](caf::actor_system& sys) {
    return troupe::spawn(sys, greeter, node);
  };
  return spec;
}

} // namespace

int main(int argc, char** argv) {
  auto parsed = troupe::parse_node_config(argc, argv, true);
  if (!parsed) {
    std::cerr << "cluster: " << troupe::describe(parsed.error()) << '\n';
    return 2;
  }
  if (parsed->help) {
    std::cout << parsed->help_text;
    return 0;
  }
  size_t supervise = 0;
  auto& pos = parsed->positional;
  for (size_t i = 0; i + 1 < pos.size(); ++i)
    if (pos[i] == "supervise")
      supervise = std::stoul(pos[i + 1]);
  troupe::node n{parsed->config};
  n.add_message_type<hello::Greet>().add_message_type<hello::Greeting>();
  n.add_actor_type("greeter", [name = n.name()](caf::actor_system& sys,
                                                const caf::message&) {
    return troupe::spawn(sys, greeter, name);
  });
  if (auto err = n.start()) {
    std::cerr << "cluster: " << troupe::describe(err) << '\n';
    return err.code() == static_cast<uint8_t>(troupe::errc::bad_config) ? 2 : 1;
  }
  if (supervise > 0) {
    auto watcher = troupe::spawn(n.system(), [&n, supervise](
                                               troupe::stateful_actor<
                                                 watcher_state>* self) {
      return caf::behavior{
        [&n, supervise, self](const troupe::member_event&) {
          auto started = &self->state.started;
          size_t up = 0;
          for (auto& m : n.members())
            up += m.status == troupe::member_status::up ? 1 : 0;
          if (*started || up < supervise)
            return;
          *started = true;
          std::vector<troupe::child_spec> children;
          std::vector<caf::actor> targets;
          for (int i = 1; i <= 3; ++i) {
            auto name = "greeter-" + std::to_string(i);
            children.push_back(n.remote_child(name, "greeter", name,
                                              troupe::placement::spread));
            targets.push_back(n.global_ref(name));
          }
          troupe::child_spec local;
          local.id = "local";
          local.kind = troupe::child_kind::supervisor;
          local.start = [name = n.name()](caf::actor_system& sys) {
            return troupe::spawn_supervisor(sys, {},
                                            {local_greeter("a", name),
                                             local_greeter("b", name)});
          };
          children.push_back(std::move(local));
          troupe::child_spec calls;
          calls.id = "caller";
          calls.start = [targets](caf::actor_system& sys) {
            return troupe::spawn(sys, caller, targets);
          };
          children.push_back(std::move(calls));
          n.start_root({}, std::move(children));
          say("SUPERVISING");
        },
      };
    });
    n.track(watcher);
    n.subscribe_members(watcher);
  }
  say("READY port=" + std::to_string(n.port()) + " name=" + n.name());
  return n.run();
}
