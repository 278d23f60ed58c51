// SPDX-License-Identifier: Apache-2.0
// Incarnations (cluster/fencing.hpp) on made-up records and clocks: how a
// new one is numbered, and which messages come from a fenced one.
#include "cluster/fencing.hpp"

#include <chrono>
#include <limits>

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using troupe::cluster::fence_verdict;
using troupe::cluster::incarnation_record;
using troupe::cluster::judge_incarnation;
using troupe::cluster::next_incarnation;

namespace {

using wall = std::chrono::system_clock;

/// 2024-05-01, in microseconds since the epoch.
constexpr uint64_t t0_us = 1714521600000000;
const wall::time_point t0{std::chrono::microseconds{t0_us}};

incarnation_record up(uint64_t incarnation) {
  return {incarnation, false, false};
}

/// Marked down by this node, judging on its own.
incarnation_record down(uint64_t incarnation) {
  return {incarnation, true, false};
}

/// Marked down by this node when or before it was fenced itself.
incarnation_record down_by_own_fence(uint64_t incarnation) {
  return {incarnation, true, true};
}

fence_verdict judge(const incarnation_record& r, uint64_t incarnation) {
  return judge_incarnation(&r, incarnation);
}

} // namespace

TEST(Fencing, ANodeStartsAsTheWallClockInMicroseconds) {
  EXPECT_EQ(next_incarnation(0, t0), t0_us);
}

TEST(Fencing, AFencedNodeTakesTheClockWhenItIsAhead) {
  EXPECT_EQ(next_incarnation(t0_us, t0 + 5s), t0_us + 5'000'000);
}

TEST(Fencing, AFencedNodeMovesOnEvenIfTheClockDoesNot) {
  // Fenced twice within a microsecond, or after the clock stepped back.
  EXPECT_EQ(next_incarnation(t0_us, t0), t0_us + 1);
  EXPECT_EQ(next_incarnation(t0_us, t0 - 1h), t0_us + 1);
  EXPECT_EQ(next_incarnation(t0_us + 7, t0 + 1us), t0_us + 8);
}

TEST(Fencing, AStrangerIsNotFenced) {
  EXPECT_EQ(judge_incarnation(nullptr, 1), fence_verdict::not_fenced);
  EXPECT_EQ(judge_incarnation(nullptr, 0), fence_verdict::not_fenced);
}

TEST(Fencing, TheListedIncarnationOfAnUpMemberIsNotFenced) {
  EXPECT_EQ(judge(up(5), 5), fence_verdict::not_fenced);
  // A newer one is a restart or a rejoin: it is met, not fenced.
  EXPECT_EQ(judge(up(5), 6), fence_verdict::not_fenced);
}

TEST(Fencing, AnOlderIncarnationIsFencedWhateverTheRecordSays) {
  EXPECT_EQ(judge(up(5), 4), fence_verdict::fenced);
  EXPECT_EQ(judge(down(5), 4), fence_verdict::fenced);
  // Even a record judged by a fenced incarnation of this node: the member
  // itself moved on since.
  EXPECT_EQ(judge(down_by_own_fence(5), 4), fence_verdict::fenced);
}

TEST(Fencing, TheIncarnationMarkedDownIsFenced) {
  EXPECT_EQ(judge(down(5), 5), fence_verdict::fenced);
  EXPECT_EQ(judge(down(5), 6), fence_verdict::not_fenced);
}

TEST(Fencing, AMemberThatLeftIsNotFenced) {
  // Left: `down` is false, its incarnation ended on purpose.
  EXPECT_EQ(judge({5, false, true}, 5), fence_verdict::not_fenced);
}

TEST(Fencing, AJudgementMadeByAFencedIncarnationIsVoid) {
  // This node was the one cut off or frozen: it ignores the member's
  // messages until it meets it again, but does not fence it in turn.
  EXPECT_EQ(judge(down_by_own_fence(5), 5), fence_verdict::void_judgement);
  EXPECT_EQ(judge(down_by_own_fence(5), 6), fence_verdict::not_fenced);
}

TEST(Fencing, TheEdgesOfTheIncarnationRange) {
  constexpr auto top = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ(judge(down(top), top), fence_verdict::fenced);
  EXPECT_EQ(judge(down(top), top - 1), fence_verdict::fenced);
  EXPECT_EQ(judge(up(0), 0), fence_verdict::not_fenced);
  EXPECT_EQ(judge(down(0), 0), fence_verdict::fenced);
}
