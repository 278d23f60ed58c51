// SPDX-License-Identifier: Apache-2.0
// A node for the multi-process tests: serves `echo`, prints "READY port=N".
#include <iostream>

#include <troupe/error.hpp>
#include <troupe/node/node.hpp>

#include "echo_actor.hpp"

int main(int argc, char** argv) {
  auto parsed = troupe::parse_node_config(argc, argv);
  if (!parsed) {
    std::cerr << "test_node: " << troupe::describe(parsed.error()) << '\n';
    return 2;
  }
  troupe::node n{parsed->config};
  // troupe_test.Unregistered is left out on purpose.
  troupe::test::add_echo_types(n);
  if (auto err = n.start()) {
    std::cerr << "test_node: " << troupe::describe(err) << '\n';
    return 1;
  }
  if (auto err = n.register_name("echo", n.spawn(troupe::test::echo, n.name()))) {
    std::cerr << "test_node: " << troupe::describe(err) << '\n';
    return 1;
  }
  std::cout << "READY port=" << n.port() << " name=" << n.name() << std::endl;
  return n.run();
}
