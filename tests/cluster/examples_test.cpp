// Smoke tests of the examples, with asserted output.
#include <gtest/gtest.h>

#include "child_process.hpp"

using troupe::test::child_process;

TEST(Examples, HelloTwoNodesExchangeGreetings) {
  std::string hello = std::string{TROUPE_EXAMPLES_BIN_DIR} + "/hello";
  child_process server{{hello, "--name", "b", "serve"}};
  auto line = server.wait_for_line("serves 'greeter' on port ");
  ASSERT_TRUE(line) << server.output();
  auto port = line->substr(line->rfind(' ') + 1);
  child_process client{{hello, "--name", "a", "call", "127.0.0.1:" + port, "4"}};
  EXPECT_EQ(client.wait_exit(), 0) << client.output();
  EXPECT_TRUE(client.wait_for_line("4/4 requests answered")) << client.output();
  EXPECT_TRUE(server.wait_for_line("b greeted a (#4, 4 so far)"))
    << server.output();
}
