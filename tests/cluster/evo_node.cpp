// SPDX-License-Identifier: Apache-2.0
// One side of the schema-evolution test, built once against v1 and once
// against v2 of evo/greeting.proto (v2 adds `priority`).
#include <iostream>

#include <caf/scoped_actor.hpp>
#include <troupe/error.hpp>
#include <troupe/node/node.hpp>
#include <troupe/wire/proto.hpp>

#include "evo/greeting.pb.h"

#ifdef EVO_V2
constexpr const char* version = "v2";
#else
constexpr const char* version = "v1";
#endif

namespace {

std::string show(const evo::Greeting& g) {
  std::string text = "text=" + g.text();
#ifdef EVO_V2
  text += " priority=" + std::to_string(g.priority());
#endif
  auto unknown = g.GetReflection()->GetUnknownFields(g).field_count();
  return text + " unknown_fields=" + std::to_string(unknown);
}

struct greeter_state {
  static inline const char* name = "evo.greeter";
};

caf::behavior greeter(troupe::stateful_actor<greeter_state>*) {
  return {[](const evo::Greeting& g) {
    std::cout << version << " server got " << show(g) << std::endl;
    return g; // echo it back as received, unknown fields included
  }};
}

} // namespace

int main(int argc, char** argv) {
  auto parsed = troupe::parse_node_config(argc, argv, true);
  if (!parsed || parsed->positional.empty()) {
    std::cerr << "usage: evo_node [flags] serve | call HOST:PORT\n";
    return 2;
  }
  troupe::node n{parsed->config};
  n.add_message_type<evo::Greeting>();
  if (auto err = n.start()) {
    std::cerr << troupe::describe(err) << '\n';
    return 1;
  }
  auto& args = parsed->positional;
  if (args[0] == "serve") {
    n.register_name("greeter", n.spawn(greeter));
    std::cout << "READY port=" << n.port() << std::endl;
    return n.run();
  }
  auto ep = troupe::parse_endpoint(args.at(1));
  auto g = ep ? n.lookup(ep->first, ep->second, "greeter")
              : caf::expected<caf::actor>{ep.error()};
  if (!g) {
    std::cerr << troupe::describe(g.error()) << '\n';
    return 1;
  }
  evo::Greeting msg;
  msg.set_text(std::string{"from "} + version);
#ifdef EVO_V2
  msg.set_priority(7);
#endif
  int rc = 1;
  {
    caf::scoped_actor self{n.system()};
    self->request(*g, std::chrono::seconds{5}, msg)
      .receive(
        [&](const evo::Greeting& reply) {
          std::cout << version << " client got reply " << show(reply)
                    << std::endl;
          rc = 0;
        },
        [&](const caf::error& err) {
          std::cerr << "request failed: " << troupe::describe(err) << '\n';
        });
  }
  return n.shutdown() ? rc : 1;
}
