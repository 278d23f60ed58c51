// SPDX-License-Identifier: Apache-2.0
// Joining (cluster/joining.hpp): who may join (names and failure-detector
// settings), whom an attempt contacts, and when the tick tries again, on
// virtual times.
#include "cluster/joining.hpp"

#include <chrono>
#include <string>
#include <vector>

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

TEST(Joining, BothSidesMustDetectFailuresTheSameWay) {
  // A mesh node heartbeats every member on every link and expects the
  // same; a gossip node sends none on its links: mixed, they would drop
  // each other's healthy links or never watch them.
  auto mesh_joiner = check_joiner("n1", mine(), {"n2", 200, 1600, false});
  ASSERT_TRUE(mesh_joiner);
  EXPECT_TRUE(troupe::is(mesh_joiner, troupe::errc::bad_config));
  EXPECT_THAT(troupe::describe(mesh_joiner),
              HasSubstr("'n2' detects failures by mesh, this node by gossip"));
  auto mesh_node = mine();
  mesh_node.gossip = false;
  EXPECT_FALSE(check_joiner("n1", mesh_node, {"n2", 200, 1600, false}));
  EXPECT_TRUE(check_joiner("n1", mesh_node, {"n2", 200, 1600, true}));
}

// -- whom a join attempt contacts, and when the tick tries again ----------

namespace {

using troupe::cluster::join_step;
using troupe::cluster::join_targets;
using troupe::cluster::join_view;
using troupe::cluster::next_join_step;

using time_point = std::chrono::steady_clock::time_point;

const time_point t0 = time_point{} + 1h;

join_view alone_since(time_point last_attempt) {
  join_view v;
  v.alone = true;
  v.has_targets = true;
  v.last_attempt = last_attempt;
  v.last_seed_visit = last_attempt;
  return v;
}

join_view member_since(time_point last_seed_visit) {
  join_view v;
  v.has_targets = true;
  v.last_attempt = last_seed_visit;
  v.last_seed_visit = last_seed_visit;
  return v;
}

} // namespace

TEST(Joining, TargetsAreTheSeedsAndTheRememberedMembersOnceEach) {
  EXPECT_EQ(join_targets({"b:2", "a:1"}, {"c:3", "a:1"}, "z:9"),
            (std::vector<std::string>{"a:1", "b:2", "c:3"}));
}

TEST(Joining, ANodeNeverContactsItself) {
  EXPECT_EQ(join_targets({"a:1", "me:5"}, {"me:5"}, "me:5"),
            (std::vector<std::string>{"a:1"}));
  EXPECT_TRUE(join_targets({"me:5"}, {}, "me:5").empty());
  EXPECT_TRUE(join_targets({}, {}, "me:5").empty());
}

TEST(Joining, ANodeAloneTriesAgainAfterAFailureTimeout) {
  EXPECT_EQ(next_join_step(alone_since(t0), t0 + 1599ms, 1600ms),
            join_step::none);
  EXPECT_EQ(next_join_step(alone_since(t0), t0 + 1600ms, 1600ms),
            join_step::rejoin);
}

TEST(Joining, ANodeAloneWaitsAtLeastASecond) {
  EXPECT_EQ(next_join_step(alone_since(t0), t0 + 999ms, 200ms),
            join_step::none);
  EXPECT_EQ(next_join_step(alone_since(t0), t0 + 1000ms, 200ms),
            join_step::rejoin);
}

TEST(Joining, ANodeAloneWaitsForConnectionsUnderWay) {
  auto v = alone_since(t0);
  v.connecting = true;
  EXPECT_EQ(next_join_step(v, t0 + 1h, 1600ms), join_step::none);
}

TEST(Joining, ANodeWithNobodyToContactStaysAlone) {
  auto v = alone_since(t0);
  v.has_targets = false;
  EXPECT_EQ(next_join_step(v, t0 + 1h, 1600ms), join_step::none);
}

TEST(Joining, AMemberVisitsTheSeedsEveryTwoFailureTimeouts) {
  EXPECT_EQ(next_join_step(member_since(t0), t0 + 3199ms, 1600ms),
            join_step::none);
  EXPECT_EQ(next_join_step(member_since(t0), t0 + 3200ms, 1600ms),
            join_step::visit_seeds);
  // At least every two seconds.
  EXPECT_EQ(next_join_step(member_since(t0), t0 + 1999ms, 200ms),
            join_step::none);
  EXPECT_EQ(next_join_step(member_since(t0), t0 + 2000ms, 200ms),
            join_step::visit_seeds);
}

TEST(Joining, AMemberVisitsSeedsWhileConnectingToo) {
  // Connections under way hold back only a node alone: a member's visits
  // of the seeds go on (connect_to skips an endpoint already dialed).
  auto v = member_since(t0);
  v.connecting = true;
  EXPECT_EQ(next_join_step(v, t0 + 3200ms, 1600ms), join_step::visit_seeds);
}

TEST(Joining, TheLastAttemptDoesNotDelaySeedVisits) {
  auto v = member_since(t0);
  v.last_attempt = t0 + 3200ms;
  EXPECT_EQ(next_join_step(v, t0 + 3200ms, 1600ms), join_step::visit_seeds);
}
