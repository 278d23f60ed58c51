// SPDX-License-Identifier: Apache-2.0
// The keep-majority rule (cluster/downing.hpp) on made-up views and
// virtual times: who carries on after a partition and who fences itself.
#include "cluster/downing.hpp"

#include <chrono>

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using troupe::cluster::in_minority;
using troupe::cluster::quorum_entry;

namespace {

using time_point = std::chrono::steady_clock::time_point;

const time_point t0 = time_point{} + 1h;
constexpr auto timeout = 1600ms;

quorum_entry live(std::string name) {
  return {std::move(name), true, false, {}};
}

/// Went silent and was marked down at `at`.
quorum_entry lost(std::string name, time_point at = t0) {
  return {std::move(name), false, true, at};
}

/// Its process died: the connections closed at once.
quorum_entry died(std::string name, time_point at = t0) {
  return {std::move(name), false, false, at};
}

} // namespace

TEST(Downing, ANodeAloneIsAMajorityOfOne) {
  EXPECT_FALSE(in_minority("n1", {}, t0, timeout));
}

TEST(Downing, LosingOneOfThreeKeepsTheMajority) {
  EXPECT_FALSE(in_minority("n1", {live("n2"), lost("n3")}, t0, timeout));
}

TEST(Downing, LosingTwoOfThreeIsAMinority) {
  EXPECT_TRUE(in_minority("n1", {lost("n2"), lost("n3")}, t0, timeout));
}

TEST(Downing, MembersThatDiedOutrightDoNotCount) {
  // Two processes killed: their connections closed while their heartbeats
  // were fresh. The survivor carries on alone.
  EXPECT_FALSE(in_minority("n1", {died("n2"), died("n3")}, t0, timeout));
  // One died, one went silent: 1 of 2 left, a tie n1 wins (smallest name).
  EXPECT_FALSE(in_minority("n1", {died("n2"), lost("n3")}, t0, timeout));
  EXPECT_TRUE(in_minority("n3", {died("n2"), lost("n1")}, t0, timeout));
}

TEST(Downing, ATieGoesToTheSideWithTheSmallestName) {
  // Four nodes cut 2 | 2, each side's view.
  EXPECT_FALSE(
    in_minority("n1", {live("n2"), lost("n3"), lost("n4")}, t0, timeout));
  EXPECT_FALSE(
    in_minority("n2", {live("n1"), lost("n3"), lost("n4")}, t0, timeout));
  EXPECT_TRUE(
    in_minority("n3", {live("n4"), lost("n1"), lost("n2")}, t0, timeout));
  EXPECT_TRUE(
    in_minority("n4", {live("n3"), lost("n1"), lost("n2")}, t0, timeout));
}

TEST(Downing, BothSidesOfAFiveNodeSplitAgree) {
  // {a, b} | {c, d, e}: exactly one side carries on.
  EXPECT_TRUE(in_minority("a", {live("b"), lost("c"), lost("d"), lost("e")},
                          t0, timeout));
  EXPECT_FALSE(in_minority("c", {live("d"), live("e"), lost("a"), lost("b")},
                           t0, timeout));
}

TEST(Downing, ALossOlderThanTheFailureTimeoutNoLongerCounts) {
  // n3 and n4 went silent long ago and this side carried on; now n2 goes:
  // judged on the members left (n1 and n2), a tie n1 wins.
  auto before = t0 - 2 * timeout;
  EXPECT_FALSE(in_minority("n1", {lost("n2"), lost("n3", before),
                                  lost("n4", before)},
                           t0, timeout));
  // Within the window the same losses are one partition: 1 of 4.
  auto recent = t0 - timeout / 2;
  EXPECT_TRUE(in_minority("n1", {lost("n2"), lost("n3", recent),
                                 lost("n4", recent)},
                          t0, timeout));
}

TEST(Downing, ALossExactlyOneFailureTimeoutAgoStillCounts) {
  auto edge = t0 - timeout;
  EXPECT_TRUE(
    in_minority("n2", {lost("n1", edge), lost("n3", edge)}, t0, timeout));
  auto past = edge - 1ms;
  EXPECT_FALSE(
    in_minority("n2", {lost("n1", past), lost("n3", past)}, t0, timeout));
}

TEST(Downing, AFrozenObserverThatWakesSeesEveryoneLostAndFencesItself) {
  // n3 was frozen: when it wakes, both others went silent for it at once.
  EXPECT_TRUE(in_minority("n3", {lost("n1"), lost("n2")}, t0, timeout));
  // The two others each lost only n3 and keep the majority.
  EXPECT_FALSE(in_minority("n1", {live("n2"), lost("n3")}, t0, timeout));
}
