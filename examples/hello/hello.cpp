// SPDX-License-Identifier: Apache-2.0
// Two nodes exchange Protobuf request/response messages: `serve` runs a
// greeter under a name, `call` finds it by host:port and name and talks to it.
#include <iostream>

#include <caf/scoped_actor.hpp>
#include <troupe/error.hpp>
#include <troupe/node/node.hpp>
#include <troupe/wire/proto.hpp>

#include "hello/hello.pb.h"

namespace {

struct greeter_state {
  static inline const char* name = "greeter";
  uint64_t greeted = 0;
};

caf::behavior greeter(troupe::stateful_actor<greeter_state>* self,
                      std::string node_name) {
  return {
    [self, node_name](const hello::Greet& req) {
      hello::Greeting reply;
      reply.set_text("hello, " + req.who());
      reply.set_seq(req.seq());
      reply.set_node(node_name);
      ++self->state.greeted;
      std::cout << node_name << " greeted " << req.who() << " (#" << req.seq()
                << ", " << self->state.greeted << " so far)" << std::endl;
      return reply;
    },
  };
}

int serve(troupe::node& n) {
  auto g = n.spawn(greeter, n.name());
  if (auto err = n.register_name("greeter", g)) {
    std::cerr << troupe::describe(err) << '\n';
    return 1;
  }
  std::cout << "node " << n.name() << " serves 'greeter' on port " << n.port()
            << std::endl;
  return n.run();
}

int call(troupe::node& n, const std::string& target, int count) {
  auto ep = troupe::parse_endpoint(target);
  if (!ep) {
    std::cerr << troupe::describe(ep.error()) << '\n';
    return 2;
  }
  auto g = n.lookup(ep->first, ep->second, "greeter");
  if (!g) {
    std::cerr << troupe::describe(g.error()) << '\n';
    return 1;
  }
  caf::scoped_actor self{n.system()};
  int answered = 0;
  for (int i = 1; i <= count && !n.stop_requested(); ++i) {
    hello::Greet req;
    req.set_who(n.name());
    req.set_seq(static_cast<uint64_t>(i));
    self->request(*g, std::chrono::seconds{5}, std::move(req))
      .receive(
        [&](const hello::Greeting& rep) {
          ++answered;
          std::cout << n.name() << " -> " << target << ": Greet #" << i
                    << ", got \"" << rep.text() << "\" from " << rep.node()
                    << std::endl;
        },
        [&](const caf::error& err) {
          std::cerr << "request #" << i
                    << " failed: " << troupe::describe(err) << '\n';
        });
  }
  std::cout << answered << "/" << count << " requests answered" << std::endl;
  return answered == count ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  auto parsed = troupe::parse_node_config(argc, argv, true);
  if (!parsed) {
    std::cerr << "hello: " << troupe::describe(parsed.error()) << '\n';
    return 2;
  }
  auto& args = parsed->positional;
  if (parsed->help || args.empty() || (args[0] != "serve" && args[0] != "call")
      || (args[0] == "call" && args.size() < 2)) {
    std::cout << "usage: hello [node flags] serve\n"
                 "       hello [node flags] call HOST:PORT [COUNT]\n"
              << parsed->help_text;
    return parsed->help ? 0 : 2;
  }
  troupe::node n{parsed->config};
  n.add_message_type<hello::Greet>().add_message_type<hello::Greeting>();
  if (auto err = n.start()) {
    std::cerr << "hello: " << troupe::describe(err) << '\n';
    return 1;
  }
  if (args[0] == "serve")
    return serve(n);
  auto count = args.size() > 2 ? std::stoi(args[2]) : 3;
  auto rc = call(n, args[1], count);
  return n.shutdown() ? rc : 1;
}
