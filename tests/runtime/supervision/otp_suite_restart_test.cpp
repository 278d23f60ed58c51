// SPDX-License-Identifier: Apache-2.0
// OTP supervisor_SUITE (see README.md), restarts: intensity, the
// one_for_one, one_for_all and rest_for_one strategies, and the restart
// types under normal, shutdown and abnormal termination.
#include "runtime/supervision/otp_fixture.hpp"

using namespace troupe::test::otp;

// -- multiple_restarts --------------------------------------------------------

TEST_F(OtpSuite, MultipleRestartsSpacedBeyondThePeriodNeverEscalate) {
  auto sup = supervisor(flags(strategy::one_for_one, 1, 1000ms));
  auto c = spec("child1", log);
  c.shutdown = 0ms;
  ASSERT_TRUE(ok(start_child(sup, c)));
  send(handle_of(sup, "child1"), die_atom::value);
  for (int i = 0; i < 3; ++i) {
    advance(2100ms);
    auto h = handle_of(sup, "child1");
    ASSERT_TRUE(h);
    send(h, die_atom::value);
  }
  EXPECT_TRUE(still_up(sup));
  auto st = status(sup, "child1");
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->running);
  EXPECT_EQ(st->restarts, 4u);
  EXPECT_TRUE(ok(terminate_child(sup, "child1")));
  EXPECT_TRUE(ok(delete_child(sup, "child1")));
  EXPECT_TRUE(which(sup).empty());
  stop(sup);
}

// -- group restart_one_for_one ------------------------------------------------

TEST_F(OtpSuite, OneForOneRestartsOnlyTheDeadChildThenEscalates) {
  auto [sup, c1, c2] = pair_after_first_dies(strategy::one_for_one);
  auto kids = which(sup);
  ASSERT_EQ(kids.size(), 2u);
  EXPECT_TRUE(kids[0].running);
  EXPECT_NE(kids[0].handle, c1);
  EXPECT_EQ(kids[1].handle, c2);
  EXPECT_EQ(sum_of(c2), 1) << "child2 was restarted";
  EXPECT_EQ(counts(sup), (counts_t{2, 2, 0, 2}));
  // The restart intensity: a third restart within the period is too many.
  send(c2, die_atom::value);
  EXPECT_TRUE(still_up(sup));
  send(which(sup).at(0).handle, die_atom::value);
  EXPECT_TRUE(ended_with(sup, errc::escalated));
}

TEST_F(OtpSuite, OneForOneEscalationWhenAChildCannotBeRestarted) {
  auto t = make_tracker();
  auto sup = supervisor(flags(strategy::one_for_one, 4, 3600s));
  ASSERT_TRUE(ok(start_child(sup, plain_spec("child1", t, from(2)))));
  ASSERT_TRUE(ok(start_child(sup, spec("child2", log))));
  auto c2 = handle_of(sup, "child2");
  watch(c2);
  send(t->started.at(0), die_atom::value);
  EXPECT_TRUE(ended_with(sup, errc::escalated));
  EXPECT_TRUE(ended_with(c2, shutdown_reason));
}

// -- group restart_one_for_all ------------------------------------------------

TEST_F(OtpSuite, OneForAllRestartsEveryChildThenEscalates) {
  auto [sup, c1, c2] = pair_after_first_dies(strategy::one_for_all);
  auto kids = which(sup);
  ASSERT_EQ(kids.size(), 2u);
  EXPECT_TRUE(kids[0].running);
  EXPECT_TRUE(kids[1].running);
  EXPECT_NE(kids[0].handle, c1);
  EXPECT_EQ(sum_of(kids[1].handle), 0) << "child2 was not restarted";
  EXPECT_EQ(count("start child2"), 2u);
  EXPECT_EQ(counts(sup), (counts_t{2, 2, 0, 2}));
  send(which(sup).at(0).handle, die_atom::value);
  EXPECT_TRUE(still_up(sup));
  send(which(sup).at(0).handle, die_atom::value);
  EXPECT_TRUE(ended_with(sup, errc::escalated));
}

TEST_F(OtpSuite, OneForAllEscalationWhenASiblingCannotBeRestarted) {
  expect_escalation_when_child2_cannot_restart(strategy::one_for_all);
}

TEST_F(OtpSuite,
       OneForAllOtherChildFailsRestartStopsTheRestartedOneAndRetries) {
  auto t1 = make_tracker();
  auto t2 = make_tracker();
  auto sup = sup_where_child2_fails_once(strategy::one_for_all, t1, t2);
  ASSERT_EQ(t1->started.size(), 1u);
  ASSERT_EQ(t2->started.size(), 1u);
  send(t1->started[0], die_atom::value);
  // child1 came back, child2 did not: the child1 of the failed round is
  // stopped, and the round is tried again. troupe stops it with the
  // strategy's own exit reason, restart_requested (OTP: shutdown).
  ASSERT_EQ(t1->started.size(), 3u);
  EXPECT_TRUE(ended_with(t1->started[1], errc::restart_requested));
  EXPECT_EQ(t2->calls, 3);
  expect_running_pair(sup, t1->started[2], t2->started.back());
  stop(sup);
}

// -- group restart_rest_for_one -----------------------------------------------

TEST_F(OtpSuite, RestForOneRestartsTheDeadChildAndLaterOnesThenEscalates) {
  auto sup = supervisor(flags(strategy::rest_for_one, 2, 3600s));
  for (auto id : {"child1", "child2", "child3"})
    ASSERT_TRUE(ok(start_child(sup, spec(id, log))));
  EXPECT_EQ(counts(sup), (counts_t{3, 3, 0, 3}));
  auto before = which(sup);
  for (auto& k : before)
    add(k.handle, 1);
  send(before[1].handle, die_atom::value);
  auto kids = which(sup);
  ASSERT_EQ(kids.size(), 3u);
  EXPECT_EQ(kids[0].handle, before[0].handle);
  EXPECT_EQ(sum_of(kids[0].handle), 1) << "child1 was restarted";
  EXPECT_NE(kids[1].handle, before[1].handle);
  EXPECT_EQ(sum_of(kids[2].handle), 0) << "child3 was not restarted";
  EXPECT_EQ(count("start child1"), 1u);
  EXPECT_EQ(count("start child3"), 2u);
  EXPECT_EQ(counts(sup), (counts_t{3, 3, 0, 3}));
  send(kids[2].handle, die_atom::value);
  EXPECT_TRUE(still_up(sup));
  send(which(sup).at(1).handle, die_atom::value);
  EXPECT_TRUE(ended_with(sup, errc::escalated));
}

TEST_F(OtpSuite, RestForOneEscalationWhenALaterChildCannotBeRestarted) {
  expect_escalation_when_child2_cannot_restart(strategy::rest_for_one);
}

TEST_F(OtpSuite, RestForOneOtherChildFailsRestartRetriesOnlyFromThatChild) {
  auto t1 = make_tracker();
  auto t2 = make_tracker();
  auto sup = sup_where_child2_fails_once(strategy::rest_for_one, t1, t2);
  send(t1->started.at(0), die_atom::value);
  ASSERT_EQ(t1->started.size(), 2u) << "child1 was restarted twice";
  EXPECT_TRUE(still_up(t1->started[1]));
  EXPECT_EQ(t2->calls, 3);
  expect_running_pair(sup, t1->started[1], t2->started.back());
  stop(sup);
}

// -- groups normal_termination, shutdown_termination, abnormal_termination ----

TEST_F(OtpSuite, PermanentNormalChildIsRestarted) {
  auto [sup, h] = sup_with_child1(restart_type::permanent);
  ASSERT_TRUE(h);
  send(h, stop_atom::value);
  EXPECT_TRUE(ended_with(h, caf::error{}));
  auto st = status(sup, "child1");
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->running);
  EXPECT_NE(st->handle, h);
  EXPECT_EQ(counts(sup), (counts_t{1, 1, 0, 1}));
  stop(sup);
}

TEST_F(OtpSuite, TransientNormalChildIsKeptButNotRestarted) {
  auto [sup, h] = sup_with_child1(restart_type::transient);
  ASSERT_TRUE(h);
  send(h, stop_atom::value);
  auto st = status(sup, "child1");
  ASSERT_TRUE(st);
  EXPECT_FALSE(st->running);
  EXPECT_EQ(counts(sup), (counts_t{1, 0, 0, 1}));
  stop(sup);
}

TEST_F(OtpSuite, TemporaryNormalChildIsForgotten) {
  auto [sup, h] = sup_with_child1(restart_type::temporary);
  ASSERT_TRUE(h);
  send(h, stop_atom::value);
  EXPECT_TRUE(which(sup).empty());
  EXPECT_EQ(counts(sup), (counts_t{0, 0, 0, 0}));
  stop(sup);
}

// OTP's `{shutdown, Term}` has no counterpart; the second exit is the
// child's own `user_shutdown`.
TEST_F(OtpSuite, PermanentShutdownChildIsRestarted) {
  auto [sup, h1] = sup_with_child1(restart_type::permanent);
  ASSERT_TRUE(h1);
  watch(h1);
  stop(h1);
  EXPECT_TRUE(ended_with(h1, shutdown_reason));
  auto h2 = restarted_child1(sup, h1, "after a shutdown");
  ASSERT_TRUE(h2);
  send(h2, shutdown_atom::value);
  EXPECT_TRUE(ended_with(h2, shutdown_reason));
  auto h3 = restarted_child1(sup, h2, "after ending with user_shutdown");
  ASSERT_TRUE(h3);
  stop(sup);
}

TEST_F(OtpSuite, TransientShutdownChildIsKeptButNotRestarted) {
  auto [sup, h1] = sup_with_child1(restart_type::transient);
  ASSERT_TRUE(h1);
  watch(h1);
  stop(h1);
  EXPECT_TRUE(ended_with(h1, shutdown_reason));
  EXPECT_FALSE(handle_of(sup, "child1"));
  EXPECT_EQ(counts(sup), (counts_t{1, 0, 0, 1}));
  auto h2 = restart_child(sup, "child1");
  ASSERT_TRUE(ok(h2));
  send(*h2, shutdown_atom::value);
  EXPECT_TRUE(ended_with(*h2, shutdown_reason));
  EXPECT_FALSE(handle_of(sup, "child1"));
  EXPECT_EQ(counts(sup), (counts_t{1, 0, 0, 1}));
  stop(sup);
}

TEST_F(OtpSuite, TemporaryShutdownChildIsForgotten) {
  auto sup = one_for_one_sup();
  auto child1 = spec("child1", log, restart_type::temporary);
  ASSERT_TRUE(ok(start_child(sup, child1)));
  stop(handle_of(sup, "child1"));
  EXPECT_TRUE(which(sup).empty());
  EXPECT_EQ(counts(sup), (counts_t{0, 0, 0, 0}));
  ASSERT_TRUE(ok(start_child(sup, child1))) << "its id is free again";
  send(handle_of(sup, "child1"), shutdown_atom::value);
  EXPECT_TRUE(which(sup).empty());
  EXPECT_EQ(counts(sup), (counts_t{0, 0, 0, 0}));
  stop(sup);
}

// OTP starts an application whose top supervisor cannot start a child; here
// the supervisor itself.
TEST_F(OtpSuite, FaultyApplicationShutdownNamesTheChildThatDidNotStart) {
  auto none =
      custom("app_faulty", [](caf::actor_system&) { return caf::actor{}; });
  auto throws = custom("app_faulty", [](caf::actor_system&) -> caf::actor {
    throw std::runtime_error("an_undefined_function");
  });
  for (auto& bad : {none, throws}) {
    log->clear();
    auto sup = supervisor({}, {spec("a", log), bad});
    auto reason = exit_reason(sup);
    ASSERT_TRUE(reason) << "the supervisor runs without its child";
    EXPECT_TRUE(*reason) << "it ended normally";
    EXPECT_FALSE(*reason == caf::exit_reason::user_shutdown);
    EXPECT_NE(troupe::describe(*reason).find("app_faulty"), std::string::npos)
        << troupe::describe(*reason);
    EXPECT_EQ(count("start a"), count("stop a"))
        << "the child that started was left running";
  }
}

TEST_F(OtpSuite, PermanentAbnormalChildIsRestarted) {
  auto [sup, h] = sup_with_child1(restart_type::permanent);
  ASSERT_TRUE(h);
  send(h, die_atom::value);
  EXPECT_TRUE(ended_with(h, died()));
  auto h2 = restarted_child1(sup, h, "after an abnormal exit");
  ASSERT_TRUE(h2);
  // A handler's throw: restarted in place.
  send(h2, crash_atom::value);
  EXPECT_EQ(handle_of(sup, "child1"), h2);
  EXPECT_EQ(status(sup, "child1")->restarts, 2u);
  EXPECT_EQ(counts(sup), (counts_t{1, 1, 0, 1}));
  stop(sup);
}

TEST_F(OtpSuite, TransientAbnormalChildIsRestarted) {
  auto [sup, h] = sup_with_child1(restart_type::transient);
  ASSERT_TRUE(h);
  send(h, die_atom::value);
  auto h2 = restarted_child1(sup, h, "after an abnormal exit");
  ASSERT_TRUE(h2);
  send(h2, crash_atom::value);
  EXPECT_EQ(handle_of(sup, "child1"), h2);
  EXPECT_EQ(status(sup, "child1")->restarts, 2u);
  stop(sup);
}

TEST_F(OtpSuite, TemporaryAbnormalChildIsForgotten) {
  auto sup = one_for_one_sup();
  auto child1 = spec("child1", log, restart_type::temporary);
  ASSERT_TRUE(ok(start_child(sup, child1)));
  send(handle_of(sup, "child1"), die_atom::value);
  EXPECT_TRUE(which(sup).empty());
  EXPECT_EQ(counts(sup), (counts_t{0, 0, 0, 0}));
  ASSERT_TRUE(ok(start_child(sup, child1)));
  send(handle_of(sup, "child1"), crash_atom::value);
  EXPECT_TRUE(which(sup).empty());
  EXPECT_EQ(counts(sup), (counts_t{0, 0, 0, 0}));
  EXPECT_EQ(count("start child1"), 2u);
  stop(sup);
}

TEST_F(OtpSuite, TemporaryBystanderStoppedByTheStrategyIsNotRestarted) {
  for (auto strat : {strategy::one_for_all, strategy::rest_for_one}) {
    SCOPED_TRACE("strategy " + std::to_string(static_cast<int>(strat)));
    log->clear();
    auto sup = supervisor(flags(strat, 2, 300s));
    auto c1 = spec("child1", log);
    c1.shutdown = 100ms;
    auto c2 = spec("child2", log, restart_type::temporary);
    c2.shutdown = 100ms;
    ASSERT_TRUE(ok(start_child(sup, c1)));
    ASSERT_TRUE(ok(start_child(sup, c2)));
    send(handle_of(sup, "child1"), stop_atom::value);
    advance(350ms);
    EXPECT_TRUE(still_up(sup));
    auto kids = which(sup);
    EXPECT_EQ(kids.size(), 1u) << "the temporary child is still listed";
    if (!kids.empty()) {
      EXPECT_EQ(kids[0].id, "child1");
      EXPECT_TRUE(kids[0].running);
    }
    EXPECT_EQ(count("start child2"), 1u) << "the temporary child restarted";
    stop(sup);
  }
}
