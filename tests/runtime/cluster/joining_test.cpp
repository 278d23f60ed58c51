// SPDX-License-Identifier: Apache-2.0
// Who may join (cluster/joining.hpp): names and failure-detector settings.
#include "cluster/joining.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "troupe/error.hpp"

using namespace std::chrono_literals;
using testing::HasSubstr;
using troupe::cluster::check_joiner;

namespace {

troupe::failure_detector_settings mine() {
  troupe::failure_detector_settings fd;
  fd.heartbeat_interval = 200ms;
  fd.failure_timeout = 1600ms;
  return fd;
}

} // namespace

TEST(Joining, ANodeWithTheSameSettingsMayJoin) {
  EXPECT_FALSE(check_joiner("n1", mine(), {"n2", 200, 1600}));
}

TEST(Joining, ANodeWithThisNodesNameIsRefused) {
  auto err = check_joiner("n1", mine(), {"n1", 200, 1600});
  ASSERT_TRUE(err);
  EXPECT_TRUE(troupe::is(err, troupe::errc::bad_config));
  EXPECT_THAT(troupe::describe(err),
              HasSubstr("a node named 'n1' is already a member"));
}

TEST(Joining, HeartbeatsMustComeWithinHalfOfTheOtherSidesTimeout) {
  // The joiner's heartbeat against this node's timeout: 800 ms is half of
  // 1600, still fine; 801 ms is not.
  EXPECT_FALSE(check_joiner("n1", mine(), {"n2", 800, 1600}));
  auto slow = check_joiner("n1", mine(), {"n2", 801, 1600});
  ASSERT_TRUE(slow);
  EXPECT_THAT(troupe::describe(slow),
              HasSubstr("failure detector settings of 'n2' (heartbeat 801 ms, "
                        "timeout 1600 ms) clash with this node's (200 ms, "
                        "1600 ms)"));
  // This node's heartbeat against the joiner's timeout: 200 ms needs at
  // least 400 ms there.
  EXPECT_FALSE(check_joiner("n1", mine(), {"n2", 100, 400}));
  EXPECT_TRUE(check_joiner("n1", mine(), {"n2", 100, 399}));
}
