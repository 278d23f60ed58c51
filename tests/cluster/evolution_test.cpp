// SPDX-License-Identifier: Apache-2.0
// Two versions of one .proto on two nodes: v2 adds a field.
#include <gtest/gtest.h>

#include "child_process.hpp"

using troupe::test::child_process;
using troupe::test::program;

namespace {

std::string serve_port(child_process& server) {
  auto line = server.wait_for_line("READY port=");
  if (!line)
    throw std::runtime_error("server did not start:\n" + server.output());
  return line->substr(line->find("port=") + 5);
}

} // namespace

TEST(SchemaEvolution, NewClientOldServerKeepsUnknownFields) {
  child_process server{{program("troupe_evo_node_v1"), "serve"}};
  auto port = serve_port(server);
  child_process client{{program("troupe_evo_node_v2"), "call",
                        "127.0.0.1:" + port}};
  EXPECT_EQ(client.wait_exit(), 0) << client.output();
  // v1 does not know `priority` but keeps it as an unknown field...
  EXPECT_TRUE(server.wait_for_line("v1 server got text=from v2 unknown_fields=1"))
    << server.output();
  // ...and sends it back intact.
  EXPECT_TRUE(client.wait_for_line(
    "v2 client got reply text=from v2 priority=7 unknown_fields=0"))
    << client.output();
}

TEST(SchemaEvolution, OldClientNewServerSeesTheDefault) {
  child_process server{{program("troupe_evo_node_v2"), "serve"}};
  auto port = serve_port(server);
  child_process client{{program("troupe_evo_node_v1"), "call",
                        "127.0.0.1:" + port}};
  EXPECT_EQ(client.wait_exit(), 0) << client.output();
  EXPECT_TRUE(server.wait_for_line(
    "v2 server got text=from v1 priority=0 unknown_fields=0"))
    << server.output();
  EXPECT_TRUE(client.wait_for_line("v1 client got reply text=from v1 unknown_fields=0"))
    << client.output();
}
