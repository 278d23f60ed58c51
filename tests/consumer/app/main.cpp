// Smallest troupe program: start a node, spawn one stateful actor, ask it
// one question, shut down. Built against an installed troupe only.
#include <chrono>
#include <iostream>

#include <caf/scoped_actor.hpp>
#include <troupe/error.hpp>
#include <troupe/node/node.hpp>

namespace {

struct adder_state {
  static inline const char* name = "consumer.adder";
  int calls = 0;
};

caf::behavior adder(troupe::stateful_actor<adder_state>* self) {
  return {
    [self](int x) {
      ++self->state.calls;
      return x + 1;
    },
  };
}

} // namespace

int main() {
  troupe::node n;
  if (auto err = n.start()) {
    std::cerr << "consumer: node failed to start: " << troupe::describe(err)
              << '\n';
    return 1;
  }
  auto hdl = n.spawn(adder);
  int result = -1;
  {
    caf::scoped_actor self{n.system()};
    self->request(hdl, std::chrono::seconds(5), 41)
      .receive([&](int x) { result = x; },
               [&](caf::error& err) {
                 std::cerr << "consumer: request failed: "
                           << troupe::describe(err) << '\n';
               });
  }
  n.shutdown();
  if (result != 42)
    return 1;
  std::cout << "consumer ok: " << result << std::endl;
  return 0;
}
