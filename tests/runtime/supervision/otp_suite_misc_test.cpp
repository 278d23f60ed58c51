// SPDX-License-Identifier: Apache-2.0
// OTP supervisor_SUITE (see README.md), the remaining cases: child_unlink,
// tree, count_children, temporary children, hanging restart loops and
// child order.
#include "runtime/supervision/otp_fixture.hpp"

using namespace troupe::test::otp;

// -- misc ---------------------------------------------------------------------

// OTP's naughty child unlinks itself; a troupe supervisor monitors, so the
// point is that it keeps serving while terminate_child waits for a child
// that does not stop.
TEST_F(OtpSuite, ChildUnlinkSupervisorKeepsServingWhileTerminateChildWaits) {
  auto sup = one_for_one_sup();
  auto naughty = custom("naughty_child", [](caf::actor_system& sys) {
    return sys.spawn(stubborn);
  });
  naughty.shutdown = 1000ms;
  auto st = start_child(sup, naughty);
  ASSERT_TRUE(ok(st));
  watch(st->handle);
  auto pending =
      issue<caf::error>([h = api(sup)](caf::event_based_actor* c, auto done) {
        h.terminate_child(c, "naughty_child", std::move(done));
      });
  ctx.run();
  EXPECT_FALSE(*pending) << "terminate_child returned before the child ended";
  EXPECT_EQ(which(sup).size(), 1u) << "the supervisor does not answer";
  EXPECT_TRUE(still_up(st->handle));
  advance(1000ms);
  ASSERT_TRUE(*pending);
  EXPECT_TRUE(ok(**pending));
  EXPECT_TRUE(ended_with(st->handle, kill_reason));
  auto after = status(sup, "naughty_child");
  ASSERT_TRUE(after);
  EXPECT_FALSE(after->running);
  stop(sup);
}

// One stop timer serves every stopping child (children.cpp): a child
// stopped later with a shorter shutdown time is still killed at its own
// time, and the earlier one at its.
TEST_F(OtpSuite, StubbornChildrenAreKilledEachAtItsOwnShutdownTime) {
  auto sup = one_for_one_sup();
  auto slow = custom("slow", [](caf::actor_system& sys) {
    return sys.spawn(stubborn);
  });
  slow.shutdown = 1000ms;
  auto quick = custom("quick", [](caf::actor_system& sys) {
    return sys.spawn(stubborn);
  });
  quick.shutdown = 100ms;
  auto s1 = start_child(sup, slow);
  auto s2 = start_child(sup, quick);
  ASSERT_TRUE(ok(s1));
  ASSERT_TRUE(ok(s2));
  watch(s1->handle);
  watch(s2->handle);
  auto terminate = [&](std::string id) {
    return issue<caf::error>(
        [h = api(sup), id](caf::event_based_actor* c, auto done) {
          h.terminate_child(c, id, std::move(done));
        });
  };
  auto slow_done = terminate("slow");
  ctx.run();
  auto quick_done = terminate("quick");
  ctx.run();
  advance(100ms);
  ASSERT_TRUE(*quick_done);
  EXPECT_TRUE(ended_with(s2->handle, kill_reason));
  EXPECT_FALSE(*slow_done) << "killed at the other child's shutdown time";
  EXPECT_TRUE(still_up(s1->handle));
  advance(899ms);
  EXPECT_FALSE(*slow_done) << "killed before its shutdown time";
  advance(1ms);
  ASSERT_TRUE(*slow_done);
  EXPECT_TRUE(ended_with(s1->handle, kill_reason));
  stop(sup);
}

TEST_F(OtpSuite,
       TreeRestartsTheDeadWorkerThenTheWholeTreeWithoutDynamicChildren) {
  auto sup_spec = [&](const std::string& id, restart_type restart,
                      std::vector<troupe::child_spec> kids) {
    auto f = flags(strategy::one_for_one, 4, 3600s);
    auto s = custom(
        id,
        [f, kids](caf::actor_system& sys) {
          return troupe::spawn_supervisor(sys, f, kids);
        },
        restart);
    s.kind = child_kind::supervisor;
    s.shutdown = 24h;
    return s;
  };
  auto top = supervisor(flags(strategy::one_for_all, 4, 3600s));
  ASSERT_TRUE(ok(
      start_child(top, sup_spec("supchild1", restart_type::permanent,
                                {spec("child1", log), spec("child2", log)}))));
  ASSERT_TRUE(
      ok(start_child(top, sup_spec("supchild2", restart_type::permanent, {}))));
  ASSERT_TRUE(
      ok(start_child(top, sup_spec("supchild3", restart_type::transient, {}))));
  EXPECT_TRUE(ok(terminate_child(top, "supchild3")));
  EXPECT_EQ(counts(top), (counts_t{3, 2, 3, 0}));
  auto sup1 = handle_of(top, "supchild1");
  auto sup2 = handle_of(top, "supchild2");
  ASSERT_TRUE(sup1 && sup2);
  EXPECT_EQ(counts(sup1), (counts_t{2, 2, 0, 2}));
  EXPECT_EQ(counts(sup2), (counts_t{0, 0, 0, 0}));
  // Dynamic children; child3 cannot be started a second time.
  auto t3 = make_tracker();
  ASSERT_TRUE(ok(start_child(sup2, plain_spec("child3", t3, from(2)))));
  ASSERT_TRUE(ok(start_child(sup2, spec("child4", log))));
  EXPECT_EQ(counts(sup1), (counts_t{2, 2, 0, 2}));
  EXPECT_EQ(counts(sup2), (counts_t{2, 2, 0, 2}));
  auto w1 = which(sup1);
  auto c3 = handle_of(sup2, "child3");
  auto c4 = handle_of(sup2, "child4");
  // Only the worker that died is restarted.
  send(c4, die_atom::value);
  auto w1_after = which(sup1);
  ASSERT_EQ(w1_after.size(), 2u);
  EXPECT_EQ(w1_after[0].handle, w1.at(0).handle);
  EXPECT_EQ(w1_after[1].handle, w1.at(1).handle);
  EXPECT_EQ(handle_of(sup2, "child3"), c3);
  auto new_c4 = handle_of(sup2, "child4");
  EXPECT_TRUE(new_c4);
  EXPECT_NE(new_c4, c4);
  EXPECT_EQ(counts(sup2), (counts_t{2, 2, 0, 2}));
  // child3 cannot restart: supchild2 gives up, and the top restarts the
  // tree, supchild3 included; dynamic children are not restarted.
  send(c3, die_atom::value);
  EXPECT_TRUE(down(sup2));
  auto kids = which(top);
  ASSERT_EQ(kids.size(), 3u);
  for (auto& k : kids)
    EXPECT_TRUE(k.running) << k.id;
  EXPECT_EQ(counts(top), (counts_t{3, 3, 3, 0}));
  ASSERT_TRUE(kids[0].running && kids[1].running);
  EXPECT_NE(kids[0].handle, sup1);
  EXPECT_NE(kids[1].handle, sup2);
  auto new1 = which(kids[0].handle);
  ASSERT_EQ(new1.size(), 2u);
  EXPECT_EQ(new1[0].id, "child1");
  EXPECT_EQ(new1[1].id, "child2");
  EXPECT_EQ(counts(kids[0].handle), (counts_t{2, 2, 0, 2}));
  EXPECT_TRUE(which(kids[1].handle).empty());
  EXPECT_EQ(counts(kids[1].handle), (counts_t{0, 0, 0, 0}));
  if (kids[2].running) {
    EXPECT_TRUE(which(kids[2].handle).empty());
    EXPECT_EQ(counts(kids[2].handle), (counts_t{0, 0, 0, 0}));
  }
  stop(top);
}

// -- misc, continued ----------------------------------------------------------

// OTP's simple_one_for_one children are troupe's children added by
// start_child (one spec each, so specs == active here).
TEST_F(OtpSuite, CountChildrenCountsThousandsOfDynamicChildren) {
  auto sup = one_for_one_sup();
  auto start_many = [&](int first, int n) {
    for (int i = first; i < first + n; ++i)
      ASSERT_TRUE(ok(start_child(sup, spec("child" + std::to_string(i), log,
                                           restart_type::temporary))));
  };
  start_many(0, 1000);
  auto children = which(sup);
  EXPECT_EQ(children.size(), 1000u);
  EXPECT_EQ(counts(sup), (counts_t{1000, 1000, 0, 1000}));
  start_many(1000, 1000);
  auto counts2 = counts(sup);
  auto children2 = which(sup);
  auto counts3 = counts(sup);
  auto children3 = which(sup);
  EXPECT_EQ(children2.size(), 2000u);
  EXPECT_EQ(counts2, (counts_t{2000, 2000, 0, 2000}));
  EXPECT_EQ(counts3, counts2);
  ASSERT_EQ(children3.size(), children2.size());
  for (size_t i = 0; i < children2.size(); ++i) {
    EXPECT_EQ(children3[i].id, children2[i].id);
    EXPECT_EQ(children3[i].handle, children2[i].handle);
  }
  kill_all_children(sup);
  stop(sup);
}

TEST_F(OtpSuite, CountChildrenSupervisorCountsChildSupervisors) {
  auto sup = one_for_one_sup();
  auto start_many = [&](int first, int n) {
    for (int i = first; i < first + n; ++i) {
      auto s = custom(
          "child" + std::to_string(i),
          [](caf::actor_system& sys) {
            return troupe::spawn_supervisor(sys, {}, {});
          },
          restart_type::temporary);
      s.kind = child_kind::supervisor;
      s.shutdown = 24h;
      ASSERT_TRUE(ok(start_child(sup, s)));
    }
  };
  start_many(0, 1000);
  EXPECT_EQ(which(sup).size(), 1000u);
  EXPECT_EQ(counts(sup), (counts_t{1000, 1000, 1000, 0}));
  start_many(1000, 1000);
  EXPECT_EQ(which(sup).size(), 2000u);
  EXPECT_EQ(counts(sup), (counts_t{2000, 2000, 2000, 0}));
  kill_all_children(sup);
  stop(sup);
}

// OTP's children restarting after a failed start are troupe's children
// waiting out their backoff.
TEST_F(OtpSuite, CountRestartingChildrenCountsThemButNotAsActive) {
  auto f = flags(strategy::one_for_one, 20, 10s);
  f.backoff = one_second();
  auto sup = supervisor(f);
  EXPECT_EQ(counts(sup), (counts_t{0, 0, 0, 0}));
  for (size_t i = 1; i <= 3; ++i) {
    auto c = spec("child" + std::to_string(i), log);
    c.shutdown = 0ms;
    ASSERT_TRUE(ok(start_child(sup, c)));
    EXPECT_EQ(counts(sup), (counts_t{i, i, 0, i}));
  }
  for (auto& k : which(sup))
    caf::anon_send_exit(k.handle, caf::exit_reason::kill);
  ctx.run();
  EXPECT_EQ(counts(sup), (counts_t{3, 0, 0, 3}));
  advance(1000ms);
  EXPECT_EQ(counts(sup), (counts_t{3, 3, 0, 3}));
  kill(handle_of(sup, "child1"));
  kill(handle_of(sup, "child2"));
  EXPECT_EQ(counts(sup), (counts_t{3, 1, 0, 3}));
  advance(1000ms);
  EXPECT_EQ(counts(sup), (counts_t{3, 3, 0, 3}));
  EXPECT_TRUE(ok(terminate_child(sup, "child3")));
  EXPECT_EQ(counts(sup), (counts_t{3, 2, 0, 3}));
  EXPECT_TRUE(ok(terminate_child(sup, "child1")));
  EXPECT_EQ(counts(sup), (counts_t{3, 1, 0, 3}));
  EXPECT_TRUE(ok(terminate_child(sup, "child2")));
  EXPECT_EQ(counts(sup), (counts_t{3, 0, 0, 3}));
  stop(sup);
}

TEST_F(OtpSuite, DoNotSaveChildSpecsForTemporaryChildrenWhicheverWayTheyEnd) {
  enum class how { kill, normal, abnormal, supervisor };
  for (auto strat :
       {strategy::one_for_all, strategy::one_for_one, strategy::rest_for_one})
    for (auto end : {how::kill, how::normal, how::abnormal, how::supervisor}) {
      SCOPED_TRACE("strategy " + std::to_string(static_cast<int>(strat)) +
                   ", ending " + std::to_string(static_cast<int>(end)));
      auto sup = supervisor(flags(strat, 2, 3600s));
      auto finish = [&](const std::string& id) {
        auto h = handle_of(sup, id);
        ASSERT_TRUE(h);
        switch (end) {
        case how::kill:
          kill(h);
          break;
        case how::normal:
          send(h, stop_atom::value);
          break;
        case how::abnormal:
          send(h, die_atom::value);
          break;
        case how::supervisor:
          EXPECT_TRUE(ok(terminate_child(sup, id)));
          break;
        }
      };
      // Kept (its id stays taken), and restarted by the supervisor unless it
      // `stays_down`; then restart_child restarts it.
      auto kept = [&](const std::string& id, restart_type restart,
                      bool stays_down) {
        auto c = spec(id, log, restart);
        ASSERT_TRUE(ok(start_child(sup, c)));
        finish(id);
        EXPECT_FALSE(start_child(sup, c));
        if (stays_down) {
          EXPECT_FALSE(handle_of(sup, id));
          EXPECT_TRUE(ok(restart_child(sup, id)));
        } else {
          EXPECT_TRUE(handle_of(sup, id)) << id << " not restarted";
        }
      };
      // Permanent: restarted unless terminated through the supervisor.
      ASSERT_NO_FATAL_FAILURE(
          kept("child1", restart_type::permanent, end == how::supervisor));
      // Transient: restarted only after a failure.
      ASSERT_NO_FATAL_FAILURE(kept("child2", restart_type::transient,
                                   end == how::supervisor ||
                                       end == how::normal));
      // Temporary: forgotten, so it can be started again.
      auto temporary = spec("child3", log, restart_type::temporary);
      ASSERT_TRUE(ok(start_child(sup, temporary)));
      finish("child3");
      EXPECT_FALSE(status(sup, "child3"));
      EXPECT_TRUE(ok(start_child(sup, temporary)));
      EXPECT_TRUE(still_up(sup));
      stop(sup);
    }
}

// OTP's child stuck in a restart loop is troupe's child waiting out its
// backoff.
TEST_F(OtpSuite,
       HangingRestartLoopChildCanBeTerminatedAndTheSupervisorStopped) {
  auto f = flags(strategy::one_for_one, 8, 10s);
  f.backoff = one_second();
  auto sup = supervisor(f);
  auto child1 = spec("child1", log);
  child1.shutdown = 0ms;
  auto st = start_child(sup, child1);
  ASSERT_TRUE(ok(st));
  kill(st->handle);
  auto restarting = status(sup, "child1");
  ASSERT_TRUE(restarting);
  EXPECT_FALSE(restarting->running);
  EXPECT_EQ(counts(sup), (counts_t{1, 0, 0, 1}));
  EXPECT_FALSE(start_child(sup, child1)) << "already present";
  // OTP answers `{error, restarting}`; troupe has no such code.
  EXPECT_FALSE(restart_child(sup, "child1")) << "restarted while restarting";
  EXPECT_TRUE(delete_child(sup, "child1")) << "deleted while restarting";
  // terminate_child ends the restart loop and keeps the spec.
  EXPECT_TRUE(ok(terminate_child(sup, "child1")));
  advance(1000ms);
  auto after = status(sup, "child1");
  ASSERT_TRUE(after);
  EXPECT_FALSE(after->running) << "restarted after terminate_child";
  EXPECT_EQ(count("start child1"), 1u);
  auto cpid2 = restart_child(sup, "child1");
  ASSERT_TRUE(ok(cpid2));
  EXPECT_EQ(count("start child1"), 2u);
  // The supervisor stops at once while its child waits to restart.
  kill(*cpid2);
  stop(sup);
  EXPECT_TRUE(ended_with(sup, shutdown_reason));
  advance(1000ms);
  EXPECT_EQ(count("start child1"), 2u) << "restarted after its supervisor";
}

TEST_F(OtpSuite, HangingRestartLoopRestForOneStopsLaterChildrenMeanwhile) {
  auto f = flags(strategy::rest_for_one, 8, 10s);
  f.backoff = one_second();
  std::vector<troupe::child_spec> specs;
  for (auto id : {"child1", "child2", "child3"}) {
    specs.push_back(spec(id, log));
    specs.back().shutdown = 0ms;
  }
  auto sup = supervisor(f, specs);
  auto c1 = handle_of(sup, "child1");
  kill(handle_of(sup, "child2"));
  auto kids = which(sup);
  ASSERT_EQ(kids.size(), 3u);
  EXPECT_EQ(kids[0].handle, c1);
  EXPECT_TRUE(kids[0].running);
  EXPECT_FALSE(kids[1].running);
  EXPECT_FALSE(kids[2].running)
      << "child3 runs while child2, which it depends on, is down";
  EXPECT_EQ(counts(sup), (counts_t{3, 1, 0, 3}));
  EXPECT_TRUE(ok(terminate_child(sup, "child2")));
  advance(1000ms);
  EXPECT_EQ(handle_of(sup, "child1"), c1);
  EXPECT_FALSE(handle_of(sup, "child2"));
  EXPECT_TRUE(ok(restart_child(sup, "child2")));
  stop(sup);
  EXPECT_TRUE(ended_with(sup, shutdown_reason));
}

TEST_F(OtpSuite, OrderOfChildrenIsStartOrderForStartsAndReverseForStops) {
  std::vector<std::string> ids{"ch7", "ch3", "ch10", "ch2", "ch5"};
  std::vector<troupe::child_spec> specs;
  for (auto& id : ids)
    specs.push_back(spec(id, log));
  auto sup = supervisor(flags(strategy::rest_for_one, 2, 3600s), specs);
  EXPECT_EQ(*log,
            (std::vector<std::string>{"start ch7", "start ch3", "start ch10",
                                      "start ch2", "start ch5"}));
  log->clear();
  kill(handle_of(sup, "ch10"));
  std::vector<std::string> starts;
  for (auto& line : *log)
    if (line.rfind("start ", 0) == 0)
      starts.push_back(line);
  EXPECT_EQ(starts,
            (std::vector<std::string>{"start ch10", "start ch2", "start ch5"}));
  EXPECT_EQ(count("stop ch2"), 1u);
  EXPECT_EQ(count("stop ch5"), 1u);
  EXPECT_EQ(count("stop ch7") + count("stop ch3"), 0u);
  for (auto& id : ids)
    EXPECT_TRUE(handle_of(sup, id)) << id;
  log->clear();
  stop(sup);
  EXPECT_EQ(*log, (std::vector<std::string>{"stop ch5", "stop ch2", "stop ch10",
                                            "stop ch3", "stop ch7"}));
}

TEST_F(OtpSuite, WhichChildrenListsChildrenInStartOrderAsTheyComeAndGo) {
  auto sup = supervisor({});
  EXPECT_TRUE(which(sup).empty());
  auto c1 = start_child(sup, spec("child1", log));
  ASSERT_TRUE(ok(c1));
  auto kids = which(sup);
  ASSERT_EQ(kids.size(), 1u);
  EXPECT_EQ(kids[0].id, "child1");
  EXPECT_EQ(kids[0].handle, c1->handle);
  EXPECT_TRUE(kids[0].running);
  EXPECT_EQ(kids[0].kind, child_kind::worker);
  EXPECT_EQ(kids[0].restart, restart_type::permanent);
  EXPECT_FALSE(kids[0].significant);
  auto c2 = start_child(sup, spec("child2", log));
  ASSERT_TRUE(ok(c2));
  kids = which(sup);
  ASSERT_EQ(kids.size(), 2u);
  EXPECT_EQ(kids[0].id, "child1");
  EXPECT_EQ(kids[1].id, "child2");
  EXPECT_EQ(kids[1].handle, c2->handle);
  EXPECT_TRUE(ok(terminate_child(sup, "child1")));
  kids = which(sup);
  ASSERT_EQ(kids.size(), 2u);
  EXPECT_EQ(kids[0].id, "child1");
  EXPECT_FALSE(kids[0].running);
  EXPECT_FALSE(kids[0].handle);
  EXPECT_TRUE(kids[1].running);
  EXPECT_TRUE(ok(delete_child(sup, "child1")));
  kids = which(sup);
  ASSERT_EQ(kids.size(), 1u);
  EXPECT_EQ(kids[0].id, "child2");
  EXPECT_EQ(kids[0].handle, c2->handle);
  stop(sup);
}
