// SPDX-License-Identifier: Apache-2.0
// OTP supervisor_SUITE (see README.md), significant children and
// auto_shutdown.
#include "runtime/supervision/otp_fixture.hpp"

using namespace troupe::test::otp;

// -- group significant --------------------------------------------------------

namespace {

const troupe::auto_shutdown all_modes[] = {
    troupe::auto_shutdown::never, troupe::auto_shutdown::any_significant,
    troupe::auto_shutdown::all_significant};

std::string mode_name(troupe::auto_shutdown mode) {
  return "auto_shutdown " + std::to_string(static_cast<int>(mode));
}

} // namespace

TEST_F(OtpSuite, NonsignificantTemporaryChildNeverShutsTheSupervisorDown) {
  for (auto mode : all_modes) {
    SCOPED_TRACE(mode_name(mode));
    troupe::supervisor_flags f;
    f.auto_shutdown = mode;
    auto sup = supervisor(f);
    auto child1 = spec("child1", log, restart_type::temporary, false);
    // Terminated through the supervisor.
    auto st = start_child(sup, child1);
    ASSERT_TRUE(ok(st));
    watch(st->handle);
    EXPECT_TRUE(ok(terminate_child(sup, "child1")));
    EXPECT_TRUE(down(st->handle));
    EXPECT_TRUE(still_up(sup));
    // Killed.
    st = start_child(sup, child1);
    ASSERT_TRUE(ok(st));
    kill(st->handle);
    EXPECT_TRUE(still_up(sup));
    // Ended abnormally.
    st = start_child(sup, child1);
    ASSERT_TRUE(ok(st));
    send(st->handle, die_atom::value);
    EXPECT_TRUE(still_up(sup));
    // Ended normally.
    st = start_child(sup, child1);
    ASSERT_TRUE(ok(st));
    send(st->handle, stop_atom::value);
    EXPECT_TRUE(down(st->handle));
    EXPECT_TRUE(still_up(sup));
    stop(sup);
    EXPECT_TRUE(ended_with(sup, shutdown_reason));
  }
}

TEST_F(OtpSuite, NonsignificantTransientChildNeverShutsTheSupervisorDown) {
  for (auto mode : all_modes) {
    SCOPED_TRACE(mode_name(mode));
    troupe::supervisor_flags f;
    f.auto_shutdown = mode;
    f.max_restarts = 5;
    auto sup = supervisor(f);
    auto st = start_child(sup, spec("child1", log, restart_type::transient));
    ASSERT_TRUE(ok(st));
    watch(st->handle);
    EXPECT_TRUE(ok(terminate_child(sup, "child1")));
    EXPECT_TRUE(down(st->handle));
    EXPECT_TRUE(still_up(sup));
    // Killed: restarted.
    auto h = restart_child(sup, "child1");
    ASSERT_TRUE(ok(h));
    kill(*h);
    EXPECT_TRUE(still_up(sup));
    auto h3 = handle_of(sup, "child1");
    ASSERT_TRUE(h3) << "not restarted after a kill";
    // Ended abnormally: restarted.
    send(h3, die_atom::value);
    EXPECT_TRUE(still_up(sup));
    auto h4 = handle_of(sup, "child1");
    ASSERT_TRUE(h4) << "not restarted after an abnormal exit";
    EXPECT_NE(h4, h3);
    // Ended normally: not restarted.
    send(h4, stop_atom::value);
    EXPECT_TRUE(down(h4));
    EXPECT_TRUE(still_up(sup));
    stop(sup);
    EXPECT_TRUE(ended_with(sup, shutdown_reason));
  }
}

TEST_F(OtpSuite, SignificantTemporaryChildShutsTheSupervisorDownWhenItEnds) {
  using troupe::auto_shutdown;
  {
    SCOPED_TRACE("any_significant, terminate_child, then a kill");
    auto [sup, hs] =
        significant_trio(restart_type::temporary, auto_shutdown::any_significant);
    EXPECT_TRUE(ok(terminate_child(sup, "child1")));
    EXPECT_TRUE(down(hs[0]));
    EXPECT_TRUE(still_up(hs[1]));
    EXPECT_TRUE(still_up(hs[2]));
    EXPECT_TRUE(still_up(sup)) << "terminate_child triggered auto_shutdown";
    auto again =
        start_child(sup, spec("child1", log, restart_type::temporary, true));
    ASSERT_TRUE(ok(again));
    kill(again->handle);
    EXPECT_TRUE(ended_with(sup, shutdown_reason));
    EXPECT_TRUE(down(hs[1]));
    EXPECT_TRUE(down(hs[2]));
  }
  for (bool abnormal : {true, false}) {
    SCOPED_TRACE(abnormal ? "any_significant, an abnormal exit"
                          : "any_significant, a normal exit");
    auto [sup, hs] =
        significant_trio(restart_type::temporary, auto_shutdown::any_significant);
    if (abnormal)
      send(hs[0], die_atom::value);
    else
      send(hs[0], stop_atom::value);
    EXPECT_TRUE(ended_with(sup, shutdown_reason));
    EXPECT_TRUE(down(hs[1]));
    EXPECT_TRUE(down(hs[2]));
  }
  {
    SCOPED_TRACE("all_significant");
    expect_all_significant_waits_for_both(restart_type::temporary);
  }
}

TEST_F(OtpSuite, SignificantTransientChildShutsTheSupervisorDownOnANormalEnd) {
  using troupe::auto_shutdown;
  {
    SCOPED_TRACE("any_significant");
    auto [sup, hs] =
        significant_trio(restart_type::transient, auto_shutdown::any_significant);
    EXPECT_TRUE(ok(terminate_child(sup, "child1")));
    EXPECT_TRUE(down(hs[0]));
    EXPECT_TRUE(still_up(sup)) << "terminate_child triggered auto_shutdown";
    ASSERT_TRUE(ok(restart_child(sup, "child1")));
    // Killed: restarted, no auto_shutdown.
    kill(handle_of(sup, "child1"));
    EXPECT_TRUE(still_up(sup));
    EXPECT_TRUE(still_up(hs[1]));
    EXPECT_TRUE(still_up(hs[2]));
    // Ended abnormally: restarted, no auto_shutdown.
    auto h = handle_of(sup, "child1");
    ASSERT_TRUE(h);
    send(h, die_atom::value);
    EXPECT_TRUE(still_up(sup));
    EXPECT_TRUE(still_up(hs[1]));
    // Ended normally: auto_shutdown.
    h = handle_of(sup, "child1");
    ASSERT_TRUE(h);
    send(h, stop_atom::value);
    EXPECT_TRUE(ended_with(sup, shutdown_reason));
    EXPECT_TRUE(down(hs[1]));
    EXPECT_TRUE(down(hs[2]));
  }
  {
    SCOPED_TRACE("all_significant");
    expect_all_significant_waits_for_both(restart_type::transient);
  }
}

// The children are plain CAF actors, so that the strategy's restarts stop
// them for real instead of restarting them in place.
TEST_F(OtpSuite, SignificantBystanderStoppedByTheStrategyDoesNotShutDown) {
  for (auto strat :
       {strategy::one_for_one, strategy::one_for_all, strategy::rest_for_one})
    for (auto mode : {troupe::auto_shutdown::any_significant,
                      troupe::auto_shutdown::all_significant}) {
      SCOPED_TRACE("strategy " + std::to_string(static_cast<int>(strat)) +
                   ", " + mode_name(mode));
      auto f = flags(strat, 5, 5000ms);
      f.auto_shutdown = mode;
      auto sup = supervisor(f);
      std::vector<tracker> ts{make_tracker(), make_tracker(), make_tracker()};
      ASSERT_TRUE(
          ok(start_child(sup, plain_spec("child1", ts[0], nullptr,
                                         restart_type::transient, true))));
      ASSERT_TRUE(
          ok(start_child(sup, plain_spec("child2", ts[1], nullptr,
                                         restart_type::transient, false))));
      ASSERT_TRUE(
          ok(start_child(sup, plain_spec("child3", ts[2], nullptr,
                                         restart_type::transient, true))));
      auto p1 = ts[0]->started.at(0);
      auto p3 = ts[2]->started.at(0);
      watch(p1);
      watch(p3);
      kill(ts[1]->started.at(0));
      switch (strat) {
      case strategy::one_for_one:
        EXPECT_TRUE(still_up(p1));
        EXPECT_TRUE(still_up(p3));
        break;
      case strategy::one_for_all:
        EXPECT_TRUE(down(p1));
        EXPECT_TRUE(down(p3));
        break;
      case strategy::rest_for_one:
        EXPECT_TRUE(still_up(p1));
        EXPECT_TRUE(down(p3));
        break;
      }
      EXPECT_TRUE(still_up(sup));
      auto kids = which(sup);
      ASSERT_EQ(kids.size(), 3u);
      for (auto& k : kids)
        EXPECT_TRUE(k.running) << k.id;
      stop(sup);
      EXPECT_TRUE(ended_with(sup, shutdown_reason));
    }
}

TEST_F(OtpSuite, SignificantEscalationClimbsOnlyThroughSignificantChildren) {
  troupe::supervisor_flags any;
  any.auto_shutdown = troupe::auto_shutdown::any_significant;
  auto b = custom(
      "sup1",
      [any](caf::actor_system& sys) {
        return troupe::spawn_supervisor(sys, any, {});
      },
      restart_type::transient);
  b.kind = child_kind::supervisor;
  auto c = spec("child1", log, restart_type::transient, true);
  for (bool significant : {true, false}) {
    SCOPED_TRACE(significant ? "significant child supervisor"
                             : "non-significant child supervisor");
    b.significant = significant;
    auto a = supervisor(any);
    auto hb = start_child(a, b);
    ASSERT_TRUE(ok(hb));
    watch(hb->handle);
    auto hc = start_child(hb->handle, c);
    ASSERT_TRUE(ok(hc));
    send(hc->handle, stop_atom::value);
    EXPECT_TRUE(ended_with(hb->handle, shutdown_reason));
    if (significant) {
      EXPECT_TRUE(ended_with(a, shutdown_reason));
    } else {
      EXPECT_TRUE(still_up(a));
      stop(a);
    }
  }
}
