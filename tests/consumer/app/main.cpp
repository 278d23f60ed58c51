// Smallest troupe program: start a node, spawn one stateful actor, ask it
// one question, look at the node's tree and fail a child as `troupe kill`
// does, shut down. Built against an installed troupe only.
#include <chrono>
#include <iostream>

#include <caf/scoped_actor.hpp>
#include <troupe/error.hpp>
#include <troupe/node/introspection.hpp>
#include <troupe/supervision/supervisor.hpp>

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

/// The node's trees, as `troupe tree` sees them (issue 17: these did not
/// compile against the installed headers).
bool introspect(troupe::node& n) {
  troupe::child_spec spec;
  spec.id = "worker";
  spec.start = [](caf::actor_system& sys) { return troupe::spawn(sys, adder); };
  n.start_root({}, {spec});
  auto local = n.snapshot_local();
  bool found = false;
  for (auto& a : local.actors())
    found = found || (a.path() == "/root/worker" && a.type() == "consumer.adder");
  auto cluster = n.snapshot_cluster(std::chrono::seconds{2});
  auto killed = n.fail_actor("/root/worker");
  if (!found || cluster.nodes_size() != 1 || !killed) {
    std::cerr << "consumer: introspection: found=" << found
              << " nodes=" << cluster.nodes_size() << " kill="
              << (killed ? killed->text() : troupe::describe(killed.error()))
              << '\n';
    return false;
  }
  std::cout << "consumer introspection ok: " << killed->text() << std::endl;
  return true;
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
  bool seen = introspect(n);
  n.shutdown();
  if (result != 42 || !seen)
    return 1;
  std::cout << "consumer ok: " << result << std::endl;
  return 0;
}
