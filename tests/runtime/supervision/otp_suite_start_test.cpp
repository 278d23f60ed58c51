// SPDX-License-Identifier: Apache-2.0
// OTP supervisor_SUITE (see README.md), starting and stopping supervisors,
// child specs, sup_flags and the child_adm API calls.
#include "runtime/supervision/otp_fixture.hpp"

using namespace troupe::test::otp;

// -- group sup_start ----------------------------------------------------------

TEST_F(OtpSuite, SupStartNormalStartsWithoutChildrenAndStopsOnShutdown) {
  auto sup = one_for_one_sup();
  EXPECT_TRUE(which(sup).empty());
  EXPECT_TRUE(still_up(sup));
  stop(sup);
  EXPECT_TRUE(ended_with(sup, shutdown_reason));
}

TEST_F(OtpSuite, SupStartChildReturnsErrorAddsNoChild) {
  auto sup = one_for_one_sup();
  auto none = custom("child1", [](caf::actor_system&) { return caf::actor{}; });
  auto throws = custom("child2", [](caf::actor_system&) -> caf::actor {
    throw std::runtime_error("no start");
  });
  EXPECT_FALSE(start_child(sup, none));
  EXPECT_FALSE(start_child(sup, throws));
  EXPECT_TRUE(which(sup).empty());
  EXPECT_TRUE(still_up(sup)) << "a failed start_child is the caller's error";
  EXPECT_TRUE(ok(start_child(sup, spec("child1", log))))
      << "the failed start kept the id";
  stop(sup);
}

TEST_F(OtpSuite, SupStartRestartChildReturnsErrorKeepsTheChildDown) {
  auto t = make_tracker();
  auto sup = supervisor(flags(strategy::one_for_one, 2, 3600s),
                        {plain_spec("child1", t, from(2))});
  ASSERT_TRUE(handle_of(sup, "child1"));
  EXPECT_TRUE(ok(terminate_child(sup, "child1")));
  EXPECT_FALSE(restart_child(sup, "child1"));
  auto kids = which(sup);
  ASSERT_EQ(kids.size(), 1u);
  EXPECT_EQ(kids[0].id, "child1");
  EXPECT_FALSE(kids[0].running);
  EXPECT_TRUE(still_up(sup));
  stop(sup);
}

// -- group sup_start_map ------------------------------------------------------

TEST_F(OtpSuite, SupStartMapFillsInDefaultsAndGetChildspecReturnsTheSpec) {
  auto c1 = custom("child1", spec("child1", log).start);
  auto c2 = custom("child2", spec("child2", log).start);
  c2.shutdown = 0ms; // brutal_kill
  auto c3 = custom("child3", [](caf::actor_system& sys) {
    return troupe::spawn_supervisor(sys, {}, {});
  });
  c3.kind = child_kind::supervisor;
  auto sup = supervisor({}, {c1, c2, c3});
  auto s1 = get_childspec(sup, "child1");
  ASSERT_TRUE(ok(s1));
  EXPECT_EQ(s1->id, "child1");
  EXPECT_TRUE(s1->start);
  EXPECT_EQ(s1->restart, restart_type::permanent);
  EXPECT_EQ(s1->shutdown, 5000ms);
  EXPECT_EQ(s1->kind, child_kind::worker);
  EXPECT_FALSE(s1->significant);
  EXPECT_TRUE(s1->global_name.empty());
  EXPECT_FALSE(s1->mailbox.bounded());
  auto s2 = get_childspec(sup, "child2");
  ASSERT_TRUE(ok(s2));
  EXPECT_EQ(s2->shutdown, 0ms);
  EXPECT_EQ(s2->restart, restart_type::permanent);
  auto s3 = get_childspec(sup, "child3");
  ASSERT_TRUE(ok(s3));
  EXPECT_EQ(s3->kind, child_kind::supervisor);
  EXPECT_EQ(s3->shutdown, 5000ms) << "one default for every kind (OTP: "
                                     "infinity for a supervisor)";
  EXPECT_TRUE(fails_with(get_childspec(sup, "child4"), errc::name_not_found));
  stop(sup);
}

TEST_F(OtpSuite, SupStartMapFaultySpecsAreRefusedBeforeAnyChildStarts) {
  auto no_id = spec("", log);
  troupe::child_spec no_start;
  no_start.id = "child2";
  using handle = troupe::supervisor_handle;
  EXPECT_TRUE(fails_with(handle::check_childspecs({no_id}), errc::bad_config));
  EXPECT_TRUE(
      fails_with(handle::check_childspecs({no_start}), errc::bad_config));
  for (auto& bad : {no_id, no_start}) {
    SCOPED_TRACE("bad spec '" + bad.id + "'");
    auto sup = supervisor({}, {spec("good", log), bad});
    EXPECT_TRUE(ended_with(sup, errc::bad_config));
  }
  EXPECT_EQ(count("start good"), 0u)
      << "a child started from a list of specs that is refused";
}

// -- group sup_stop -----------------------------------------------------------

TEST_F(OtpSuite, SupStopInfinityStopsWorkerAndSupervisorChildrenWithShutdown) {
  auto sup = one_for_one_sup();
  auto c1 = custom("child1", [](caf::actor_system& sys) {
    return troupe::spawn_supervisor(sys, {}, {});
  });
  c1.kind = child_kind::supervisor;
  c1.shutdown = 24h; // troupe has no `infinity`: a day stands in for it
  auto c2 = spec("child2", log);
  c2.shutdown = 24h;
  auto hs = start_watched(sup, {c1, c2});
  ASSERT_TRUE(hs[0] && hs[1]);
  stop(sup); // no virtual time passes
  EXPECT_TRUE(ended_with(hs[0], shutdown_reason));
  EXPECT_TRUE(ended_with(hs[1], shutdown_reason));
  EXPECT_TRUE(ended_with(sup, shutdown_reason));
}

TEST_F(OtpSuite, SupStopTimeoutKillsAChildThatOutlivesItsShutdownTime) {
  auto sup = one_for_one_sup();
  auto c1 = spec("child1", log);
  c1.shutdown = 1000ms;
  auto c2 = custom("child2",
                   [](caf::actor_system& sys) { return sys.spawn(stubborn); });
  c2.shutdown = 1000ms;
  auto hs = start_watched(sup, {c1, c2});
  ASSERT_TRUE(hs[0] && hs[1]);
  stop(sup);
  EXPECT_TRUE(still_up(hs[1])) << "killed before its shutdown time";
  advance(1000ms);
  EXPECT_TRUE(ended_with(hs[0], shutdown_reason));
  EXPECT_TRUE(ended_with(hs[1], kill_reason));
  EXPECT_TRUE(ended_with(sup, shutdown_reason));
}

// OTP's simple_one_for_one children are troupe's children added by
// start_child.
TEST_F(OtpSuite, SupStopTimeoutDynamicKillsADynamicChildAfterItsTime) {
  auto sup = one_for_one_sup();
  auto c1 = spec("child1", log, restart_type::temporary);
  c1.shutdown = 1000ms;
  auto c2 = custom(
      "child2", [](caf::actor_system& sys) { return sys.spawn(stubborn); },
      restart_type::temporary);
  c2.shutdown = 1000ms;
  auto hs = start_watched(sup, {c1, c2});
  ASSERT_TRUE(hs[0] && hs[1]);
  stop(sup);
  EXPECT_TRUE(still_up(hs[1]));
  advance(1000ms);
  EXPECT_TRUE(ended_with(sup, shutdown_reason));
  EXPECT_TRUE(ended_with(hs[0], shutdown_reason));
  EXPECT_TRUE(ended_with(hs[1], kill_reason));
}

TEST_F(OtpSuite, SupStopBrutalKillKillsAChildWithZeroShutdownTime) {
  auto sup = one_for_one_sup();
  auto c1 = spec("child1", log);
  c1.shutdown = 1000ms;
  auto c2 = spec("child2", log);
  c2.shutdown = 0ms;
  auto hs = start_watched(sup, {c1, c2});
  ASSERT_TRUE(hs[0] && hs[1]);
  stop(sup);
  EXPECT_TRUE(ended_with(hs[0], shutdown_reason));
  EXPECT_TRUE(ended_with(hs[1], kill_reason));
  EXPECT_TRUE(ended_with(sup, shutdown_reason));
}

TEST_F(OtpSuite, SupStopBrutalKillDynamicKillsEveryDynamicChild) {
  auto sup = one_for_one_sup();
  std::vector<caf::actor> kids;
  for (int i = 1; i <= 10; ++i) {
    auto c = spec("child" + std::to_string(i), log, restart_type::temporary);
    c.shutdown = 0ms;
    auto st = start_child(sup, c);
    ASSERT_TRUE(ok(st));
    watch(st->handle);
    kids.push_back(st->handle);
  }
  stop(sup);
  EXPECT_TRUE(ended_with(sup, shutdown_reason));
  for (auto& k : kids)
    EXPECT_TRUE(ended_with(k, kill_reason));
}

TEST_F(OtpSuite, SupStopRaceFinishesWhileChildrenEndOnTheirOwn) {
  auto sup = one_for_one_sup();
  auto starts = std::make_shared<int>(0);
  auto a = spec("child_a", log, restart_type::temporary);
  a.shutdown = 1000ms;
  auto ha = start_child(sup, a);
  ASSERT_TRUE(ok(ha));
  watch(ha->handle);
  std::vector<std::pair<caf::actor, caf::error>> racers;
  int n = 0;
  for (auto restart : {restart_type::temporary, restart_type::transient,
                       restart_type::permanent})
    for (auto& reason : {caf::error{}, shutdown_reason, died()}) {
      auto c = own_reason_spec("child" + std::to_string(++n), starts, reason,
                               restart);
      c.shutdown = 1000ms;
      auto st = start_child(sup, c);
      ASSERT_TRUE(ok(st));
      watch(st->handle);
      racers.emplace_back(st->handle, reason);
    }
  auto z = custom(
      "child_z",
      [](caf::actor_system& sys) {
        return sys.spawn(slow, caf::timespan{1000ms});
      },
      restart_type::temporary);
  z.shutdown = 2000ms;
  auto hz = start_child(sup, z);
  ASSERT_TRUE(ok(hz));
  watch(hz->handle);
  // The supervisor stops child_z first, which takes a second; meanwhile
  // every other child ends by itself.
  stop(sup);
  EXPECT_TRUE(still_up(hz->handle));
  for (auto& r : racers)
    caf::anon_send(r.first, stop_atom::value);
  ctx.run();
  advance(1000ms);
  EXPECT_TRUE(ended_with(sup, shutdown_reason));
  EXPECT_TRUE(ended_with(hz->handle, shutdown_reason));
  for (auto& r : racers)
    EXPECT_TRUE(ended_with(r.first, r.second));
  EXPECT_TRUE(ended_with(ha->handle, shutdown_reason));
  EXPECT_EQ(*starts, 9) << "a child was restarted while its supervisor stops";
  EXPECT_EQ(count("start child_a"), 1u);
}

TEST_F(OtpSuite, SupStopNonShutdownExitDynamicEndsEachChildWithItsReason) {
  for (auto restart : {restart_type::temporary, restart_type::transient,
                       restart_type::permanent}) {
    SCOPED_TRACE("restart type " + std::to_string(static_cast<int>(restart)));
    auto starts = std::make_shared<int>(0);
    auto sup = one_for_one_sup();
    std::vector<std::pair<caf::actor, caf::error>> kids;
    int n = 0;
    for (auto& reason : {caf::error{}, shutdown_reason, died()}) {
      auto c = own_reason_spec("child" + std::to_string(++n), starts, reason,
                               restart);
      auto st = start_child(sup, c);
      ASSERT_TRUE(ok(st));
      watch(st->handle);
      kids.emplace_back(st->handle, reason);
    }
    stop(sup);
    EXPECT_TRUE(ended_with(sup, shutdown_reason));
    for (auto& k : kids)
      EXPECT_TRUE(ended_with(k.first, k.second));
    EXPECT_EQ(*starts, 3);
  }
}

// -- API ----------------------------------------------------------------------

TEST_F(OtpSuite, ChildAdmStartTerminateRestartAndDeleteFollowOtp) {
  auto child1 = spec("child1", log);
  auto sup = supervisor(flags(strategy::one_for_one, 2, 3600s), {child1});
  auto cpid = handle_of(sup, "child1");
  ASSERT_TRUE(cpid);
  EXPECT_EQ(counts(sup), (counts_t{1, 1, 0, 1}));
  watch(cpid);
  // Start of a child that runs: already started.
  EXPECT_TRUE(fails_with(start_child(sup, child1), errc::bad_config));
  // Termination keeps the spec.
  EXPECT_TRUE(fails_with(terminate_child(sup, "hej"), errc::name_not_found));
  EXPECT_TRUE(ok(terminate_child(sup, "child1")));
  EXPECT_TRUE(ended_with(cpid, shutdown_reason));
  auto st = status(sup, "child1");
  ASSERT_TRUE(st);
  EXPECT_FALSE(st->running);
  EXPECT_EQ(counts(sup), (counts_t{1, 0, 0, 1}));
  EXPECT_TRUE(ok(terminate_child(sup, "child1"))) << "terminating it again";
  // Start of a child whose spec is kept: already present.
  EXPECT_TRUE(fails_with(start_child(sup, child1), errc::bad_config));
  // Restart.
  auto cpid2 = restart_child(sup, "child1");
  ASSERT_TRUE(ok(cpid2));
  EXPECT_NE(*cpid2, cpid);
  EXPECT_EQ(handle_of(sup, "child1"), *cpid2);
  EXPECT_EQ(counts(sup), (counts_t{1, 1, 0, 1}));
  EXPECT_TRUE(fails_with(restart_child(sup, "child1"), errc::child_running));
  EXPECT_TRUE(fails_with(restart_child(sup, "child2"), errc::name_not_found));
  // Deletion.
  EXPECT_TRUE(fails_with(delete_child(sup, "child1"), errc::child_running));
  EXPECT_TRUE(fails_with(delete_child(sup, "hej"), errc::name_not_found));
  EXPECT_TRUE(ok(terminate_child(sup, "child1")));
  EXPECT_TRUE(ok(delete_child(sup, "child1")));
  EXPECT_TRUE(fails_with(restart_child(sup, "child1"), errc::name_not_found));
  EXPECT_TRUE(which(sup).empty());
  EXPECT_EQ(counts(sup), (counts_t{0, 0, 0, 0}));
  // Start.
  auto cpid3 = start_child(sup, child1);
  ASSERT_TRUE(ok(cpid3));
  EXPECT_TRUE(cpid3->running);
  EXPECT_EQ(handle_of(sup, "child1"), cpid3->handle);
  EXPECT_EQ(counts(sup), (counts_t{1, 1, 0, 1}));
  // Calls to a supervisor that is gone fail (OTP: noproc).
  auto gone = supervisor({});
  stop(gone);
  EXPECT_FALSE(which_children(gone));
  EXPECT_FALSE(start_child(gone, child1));
  EXPECT_TRUE(terminate_child(gone, "child1"));
  stop(sup);
}

TEST_F(OtpSuite, ChildSpecsCheckAcceptsValidSpecsAndRefusesBadOnes) {
  using handle = troupe::supervisor_handle;
  for (auto restart : {restart_type::permanent, restart_type::transient,
                       restart_type::temporary})
    for (auto shutdown : {0ms, 1000ms, std::chrono::milliseconds{24h}})
      for (auto kind : {child_kind::supervisor, child_kind::worker}) {
        auto c = spec("child", log, restart);
        c.shutdown = shutdown;
        c.kind = kind;
        EXPECT_TRUE(ok(handle::check_childspecs({c})))
            << static_cast<int>(restart) << " " << shutdown.count() << " "
            << static_cast<int>(kind);
      }
  auto c1 = spec("child", log);
  c1.shutdown = 24h;
  c1.kind = child_kind::supervisor;
  auto c2 = spec("child", log);
  c2.shutdown = 1000ms;
  c2.kind = child_kind::supervisor;
  EXPECT_TRUE(fails_with(handle::check_childspecs({c1, c2}), errc::bad_config))
      << "duplicate child id";
  auto negative = spec("child", log);
  negative.shutdown = -10ms;
  EXPECT_TRUE(
      fails_with(handle::check_childspecs({negative}), errc::bad_config));
  // start_child refuses what the check refuses, and adds nothing.
  auto sup = one_for_one_sup();
  EXPECT_TRUE(fails_with(start_child(sup, negative), errc::bad_config));
  troupe::child_spec no_start;
  no_start.id = "child";
  EXPECT_TRUE(fails_with(start_child(sup, no_start), errc::bad_config));
  EXPECT_TRUE(which(sup).empty());
  EXPECT_EQ(count("start child"), 0u);
  stop(sup);
}

TEST_F(OtpSuite, ChildSpecsMapAllowsSignificantChildrenOnlyWhereTheyCanEnd) {
  using handle = troupe::supervisor_handle;
  using troupe::auto_shutdown;
  auto no_id = spec("", log);
  troupe::child_spec no_start;
  no_start.id = "child";
  EXPECT_TRUE(fails_with(handle::check_childspecs({no_id}), errc::bad_config));
  EXPECT_TRUE(
      fails_with(handle::check_childspecs({no_start}), errc::bad_config));
  for (auto mode : {auto_shutdown::never, auto_shutdown::any_significant,
                    auto_shutdown::all_significant})
    for (auto restart : {restart_type::permanent, restart_type::transient,
                         restart_type::temporary})
      for (auto kind : {child_kind::supervisor, child_kind::worker})
        for (bool significant : {false, true}) {
          auto c = spec("child", log, restart, significant);
          c.kind = kind;
          auto err = handle::check_childspecs({c}, mode);
          auto what = ::testing::Message()
                      << "auto_shutdown " << static_cast<int>(mode)
                      << ", restart " << static_cast<int>(restart)
                      << ", significant " << significant;
          if (significant && (mode == auto_shutdown::never ||
                              restart == restart_type::permanent))
            EXPECT_TRUE(fails_with(err, errc::bad_config)) << what;
          else
            EXPECT_TRUE(ok(err)) << what;
        }
  auto cs0 = spec("child", log);
  EXPECT_TRUE(
      fails_with(handle::check_childspecs({cs0, cs0}), errc::bad_config));
  // auto_shutdown never: no significant child, at start or at run time.
  auto sig = spec("child", log, restart_type::transient, true);
  auto refused = supervisor({}, {sig});
  EXPECT_TRUE(ended_with(refused, errc::bad_config));
  EXPECT_EQ(count("start child"), 0u);
  auto never = supervisor({});
  EXPECT_TRUE(fails_with(start_child(never, sig), errc::bad_config));
  auto any = troupe::supervisor_flags{};
  any.auto_shutdown = auto_shutdown::any_significant;
  auto sup = supervisor(any);
  EXPECT_TRUE(fails_with(
      start_child(sup, spec("perm", log, restart_type::permanent, true)),
      errc::bad_config));
  EXPECT_TRUE(ok(start_child(sup, sig)));
  stop(never);
  stop(sup);
}

// The flags are typed (no invalid strategy, intensity or auto_shutdown can
// be written), but a period can be zero or negative, which OTP refuses: it
// would turn the restart intensity off.
TEST_F(OtpSuite, SupFlagsRefuseAPeriodThatIsNotPositive) {
  for (auto period : {0ms, -1000ms}) {
    SCOPED_TRACE("period " + std::to_string(period.count()));
    auto sup = supervisor(flags(strategy::one_for_one, 2, period),
                          {spec("child", log)});
    EXPECT_TRUE(ended_with(sup, errc::bad_config));
  }
  EXPECT_EQ(count("start child"), 0u);
  // An intensity of zero is valid.
  auto sup =
      supervisor(flags(strategy::one_for_one, 0, 1000ms), {spec("child", log)});
  EXPECT_TRUE(still_up(sup));
  stop(sup);
}
