// SPDX-License-Identifier: Apache-2.0
// The supervisor's decisions, as pure functions on made-up times.
#include "supervision/decision.hpp"

#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>
#include <gtest/gtest.h>

#include "troupe/error.hpp"

using namespace std::chrono_literals;
using namespace troupe;
using namespace troupe::supervision;

namespace {

time_point at(std::chrono::milliseconds t) {
  return time_point{} + t;
}

child_spec spec(std::string id, restart_type r = restart_type::permanent,
                bool significant = false) {
  child_spec s;
  s.id = std::move(id);
  s.restart = r;
  s.significant = significant;
  s.start = [](caf::actor_system&) { return caf::actor{}; };
  return s;
}

} // namespace

TEST(Decision, ClassifiesDownReasons) {
  EXPECT_EQ(classify(caf::error{}), exit_cause::normal);
  EXPECT_EQ(classify(caf::exit_reason::user_shutdown), exit_cause::normal);
  EXPECT_EQ(classify(caf::exit_reason::kill), exit_cause::failure);
  EXPECT_EQ(classify(make_error(errc::handler_failed, "x")),
            exit_cause::failure);
  EXPECT_EQ(classify(caf::exit_reason::remote_link_unreachable),
            exit_cause::node_lost);
  EXPECT_EQ(classify(make_error(errc::node_down)), exit_cause::node_lost);
  EXPECT_EQ(classify(make_error(errc::fenced, "f")), exit_cause::node_lost);
  EXPECT_EQ(classify(make_error(errc::node_left, "l")), exit_cause::node_left);
}

TEST(Decision, RestartTypesFollowOtp) {
  for (auto c : {exit_cause::normal, exit_cause::failure,
                 exit_cause::node_lost, exit_cause::node_left}) {
    EXPECT_EQ(after_stop(restart_type::permanent, c), verdict::restart);
    EXPECT_EQ(after_stop(restart_type::temporary, c), verdict::forget);
  }
  EXPECT_EQ(after_stop(restart_type::transient, exit_cause::normal),
            verdict::keep_down);
  EXPECT_EQ(after_stop(restart_type::transient, exit_cause::failure),
            verdict::restart);
  // Its node went, the child did not fail: moved, also when transient.
  EXPECT_EQ(after_stop(restart_type::transient, exit_cause::node_lost),
            verdict::restart);
  EXPECT_EQ(after_stop(restart_type::transient, exit_cause::node_left),
            verdict::restart);
}

TEST(Decision, ASupersededPersistentChildStaysDownUncounted) {
  EXPECT_EQ(classify(make_error(errc::writer_fenced, "w")),
            exit_cause::superseded);
  EXPECT_EQ(after_stop(restart_type::permanent, exit_cause::superseded),
            verdict::keep_down);
  EXPECT_EQ(after_stop(restart_type::transient, exit_cause::superseded),
            verdict::keep_down);
  EXPECT_EQ(after_stop(restart_type::temporary, exit_cause::superseded),
            verdict::forget);
  EXPECT_FALSE(counts(exit_cause::superseded, true));
}

TEST(Decision, ALostNodeCountsOnceALeftNodeNever) {
  EXPECT_TRUE(counts(exit_cause::failure, false));
  EXPECT_TRUE(counts(exit_cause::node_lost, true));
  EXPECT_FALSE(counts(exit_cause::node_lost, false));
  EXPECT_FALSE(counts(exit_cause::node_left, true));
}

TEST(Decision, NodeLossesRememberANodeForAWhile) {
  node_losses seen;
  auto n = caf::make_node_id(42, "0102030405060708090a0b0c0d0e0f1011121314");
  auto m = caf::make_node_id(43, "0102030405060708090a0b0c0d0e0f1011121314");
  ASSERT_TRUE(n && m);
  EXPECT_TRUE(seen.first(*n, at(0ms), 5s));
  EXPECT_FALSE(seen.first(*n, at(10ms), 5s)) << "its second child";
  EXPECT_TRUE(seen.first(*m, at(20ms), 5s)) << "another node";
  EXPECT_TRUE(seen.first(*n, at(6s), 5s)) << "long after: a new loss";
}

TEST(Decision, IntensityAdmitsMaxRestartsPerPeriod) {
  restart_intensity r{3, 5s};
  EXPECT_TRUE(r.admit(at(0ms)));
  EXPECT_TRUE(r.admit(at(1s)));
  EXPECT_TRUE(r.admit(at(2s)));
  EXPECT_FALSE(r.admit(at(3s))) << "a fourth within 5 s";
  restart_intensity spaced{1, 5s};
  for (int i = 0; i < 10; ++i)
    EXPECT_TRUE(spaced.admit(at(i * 6s))) << "one per period is fine";
  restart_intensity none{0, 5s};
  EXPECT_FALSE(none.admit(at(0ms))) << "max 0: the first restart is too many";
}

// A restart permit goes out only while the restarts it allows, with every
// permit already out, fit the intensity whenever they come.
TEST(Decision, RestartIntensityRoomCountsWhatFitsFromNowOn) {
  restart_intensity r{3, 5s};
  EXPECT_EQ(r.room(at(0ms)), 3u);
  EXPECT_TRUE(r.admit(at(0ms)));
  EXPECT_TRUE(r.admit(at(1s)));
  EXPECT_EQ(r.room(at(2s)), 1u) << "two more within 5 s make four";
  EXPECT_EQ(r.room(at(5500ms)), 2u) << "the first left the period";
  EXPECT_EQ(r.room(at(7s)), 3u);
  restart_intensity none{0, 5s};
  EXPECT_EQ(none.room(at(0ms)), 0u);
  restart_intensity unlimited{SIZE_MAX, 5s};
  EXPECT_GE(unlimited.room(at(0ms)), 8u);
}

TEST(Decision, BackoffGrowsToItsMaxAndJitterOnlyStretches) {
  backoff b;
  b.min = 100ms;
  b.max = 1000ms;
  b.factor = 2;
  b.jitter = 0.5;
  EXPECT_EQ(backoff_delay(b, 0, 0.0), caf::timespan{100ms});
  EXPECT_EQ(backoff_delay(b, 1, 0.0), caf::timespan{200ms});
  EXPECT_EQ(backoff_delay(b, 3, 0.0), caf::timespan{800ms});
  EXPECT_EQ(backoff_delay(b, 30, 0.0), caf::timespan{1000ms});
  EXPECT_EQ(backoff_delay(b, 0, 1.0), caf::timespan{150ms});
  EXPECT_TRUE(backoff_resets(b, 30s));
  EXPECT_FALSE(backoff_resets(b, 29s));
}

TEST(Decision, AutoShutdownByMode) {
  EXPECT_FALSE(auto_shutdown_due(auto_shutdown::never, 0));
  EXPECT_TRUE(auto_shutdown_due(auto_shutdown::any_significant, 2));
  EXPECT_FALSE(auto_shutdown_due(auto_shutdown::all_significant, 1));
  EXPECT_TRUE(auto_shutdown_due(auto_shutdown::all_significant, 0));
}

TEST(Decision, ReportBudgetBoundsACrashLoopOnVirtualTime) {
  report_budget b{20, 100ms};
  size_t written = 0;
  for (int i = 0; i < 10000; ++i)
    written += b.take(at(0ms)) ? 1 : 0;
  EXPECT_EQ(written, 20u) << "a burst, then nothing at the same instant";
  EXPECT_EQ(b.take_suppressed(), 9980u);
  // One more per 100 ms: 10 in the next second, however many try.
  written = 0;
  for (int ms = 1; ms <= 1000; ++ms)
    for (int k = 0; k < 10; ++k)
      written += b.take(at(std::chrono::milliseconds{ms})) ? 1 : 0;
  EXPECT_EQ(written, 10u);
  // After a quiet spell the burst is back, not more.
  written = 0;
  for (int i = 0; i < 100; ++i)
    written += b.take(at(60s)) ? 1 : 0;
  EXPECT_EQ(written, 20u);
}

TEST(Decision, CheckChildSpecsFollowsOtp) {
  EXPECT_FALSE(check_child_specs({spec("a"), spec("b")}, auto_shutdown::never));
  EXPECT_TRUE(check_child_specs({spec("a"), spec("a")}, auto_shutdown::never));
  EXPECT_TRUE(check_child_specs({spec("")}, auto_shutdown::never));
  auto no_start = spec("a");
  no_start.start = nullptr;
  EXPECT_TRUE(check_child_specs({no_start}, auto_shutdown::never));
  EXPECT_TRUE(check_child_specs({spec("a", restart_type::transient, true)},
                                auto_shutdown::never));
  EXPECT_TRUE(check_child_specs({spec("a", restart_type::permanent, true)},
                                auto_shutdown::any_significant));
  EXPECT_FALSE(check_child_specs({spec("a", restart_type::transient, true)},
                                 auto_shutdown::any_significant));
  auto err = check_child_specs({spec("a"), spec("a")}, auto_shutdown::never);
  EXPECT_NE(describe(err).find("duplicate id"), std::string::npos)
    << describe(err);
}

TEST(Decision, FailureTextHasOneFormat) {
  EXPECT_EQ(failure_text(make_error(errc::handler_failed, "boom on @i32")),
            "handler_failed: boom on @i32");
  EXPECT_EQ(failure_text(caf::exit_reason::remote_link_unreachable),
            "node_lost: remote_link_unreachable");
  EXPECT_EQ(failure_text(caf::exit_reason::kill), "kill");
}

TEST(Decision, BackoffWithoutJitterIgnoresTheShare) {
  backoff b;
  b.min = 100ms;
  b.max = 1000ms;
  b.factor = 2;
  b.jitter = 0;
  EXPECT_EQ(backoff_delay(b, 1, 1.0), caf::timespan{200ms});
}

TEST(Decision, ReportBudgetWithoutRefillIsOneBurstAndSurvivesAClockGoingBack) {
  report_budget b{3, 0ms};
  size_t written = 0;
  for (int s = 0; s < 100; ++s)
    written += b.take(at(std::chrono::seconds{s})) ? 1 : 0;
  EXPECT_EQ(written, 3u) << "no refill: the burst once";
  // A clock that goes back restarts the count from there, not below it.
  report_budget c{2, 100ms};
  EXPECT_TRUE(c.take(at(10s)));
  EXPECT_TRUE(c.take(at(10s)));
  EXPECT_FALSE(c.take(at(10s)));
  EXPECT_FALSE(c.take(at(5s)));
  EXPECT_TRUE(c.take(at(5s) + 100ms));
}

TEST(Decision, CheckChildSpecsRefusesANegativeShutdownTime) {
  auto s = spec("a");
  s.shutdown = std::chrono::milliseconds{-1};
  auto err = check_child_specs({s}, auto_shutdown::never);
  EXPECT_NE(describe(err).find("negative shutdown time"), std::string::npos)
    << describe(err);
}

TEST(Decision, FailureTextOfANodeDownKeepsItsOwnWords) {
  auto text = failure_text(make_error(errc::node_down, "node 'b' is down"));
  EXPECT_EQ(text.rfind("node_down", 0), 0u) << text;
}
