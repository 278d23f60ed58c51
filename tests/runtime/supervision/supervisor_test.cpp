// SPDX-License-Identifier: Apache-2.0
// troupe's supervisor: strategies restart in place, intensity and escalation,
// ordered shutdown, stable handles (fixture: supervisor_fixture.hpp).
#include "runtime/supervision/supervisor_fixture.hpp"

#include <caf/after.hpp>

using namespace troupe::test::sup;

TEST_F(Supervisor, StartsChildrenInOrderAndStopsThemInReverse) {
  auto sup = start(troupe::strategy::one_for_one, {"a", "b", "c"});
  stop(sup);
  EXPECT_EQ(*log, (std::vector<std::string>{"start a", "start b", "start c",
                                             "stop c", "stop b", "stop a"}));
}

TEST_F(Supervisor, OneForOneRestartsOnlyTheFailedChildInPlace) {
  auto sup = start(troupe::strategy::one_for_one, {"a", "b"});
  auto kids = children(sup);
  auto a = kids[0].handle;
  auto b = kids[1].handle;
  ASSERT_EQ(*ask<int>(a, 5), 5);
  ASSERT_EQ(*ask<int>(b, 7), 7);
  auto failed = ask<int>(b, 100);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code(),
            static_cast<uint8_t>(troupe::errc::handler_failed));
  EXPECT_EQ(sum_of(b), 0) << "b's state was not rebuilt";
  EXPECT_EQ(sum_of(a), 5) << "a must not restart";
  kids = children(sup);
  EXPECT_EQ(kids[1].handle, b) << "restart in place keeps the address";
  EXPECT_EQ(kids[1].restarts, 1u);
  EXPECT_NE(kids[1].last_failure.find("bad value 100"), std::string::npos)
    << kids[1].last_failure;
  EXPECT_EQ(kids[0].restarts, 0u);
  stop(sup);
}

TEST_F(Supervisor, OneForAllRestartsEverySiblingInPlace) {
  caf::actor sup;
  auto kids = fail_middle_child(troupe::strategy::one_for_all, sup);
  for (auto& k : kids)
    EXPECT_EQ(sum_of(k.handle), 0) << k.id;
  auto after = children(sup);
  for (size_t i = 0; i < kids.size(); ++i)
    EXPECT_EQ(after[i].handle, kids[i].handle);
  stop(sup);
}

TEST_F(Supervisor, RestForOneRestartsTheFailedChildAndLaterOnes) {
  caf::actor sup;
  auto kids = fail_middle_child(troupe::strategy::rest_for_one, sup);
  EXPECT_EQ(sum_of(kids[0].handle), 1);
  EXPECT_EQ(sum_of(kids[1].handle), 0);
  EXPECT_EQ(sum_of(kids[2].handle), 0);
  stop(sup);
}

TEST_F(Supervisor, KilledChildIsRespawned) {
  auto sup = start(troupe::strategy::one_for_one, {"a"});
  auto before = children(sup)[0].handle;
  caf::anon_send_exit(before, caf::exit_reason::kill);
  ctx.run();
  auto kids = children(sup);
  ASSERT_TRUE(kids[0].running);
  EXPECT_NE(kids[0].handle, before);
  EXPECT_EQ(kids[0].restarts, 1u);
  EXPECT_EQ(*ask<int>(kids[0].handle, 3), 3);
  stop(sup);
}

TEST_F(Supervisor, RestartTypesDecideWhoComesBack) {
  std::vector<troupe::child_spec> specs{
    worker_spec("perm", log, troupe::restart_type::permanent),
    worker_spec("trans", log, troupe::restart_type::transient),
    worker_spec("temp", log, troupe::restart_type::temporary)};
  auto sup = troupe::spawn_supervisor(*ctx.sys, {}, std::move(specs));
  ctx.run();
  auto kids = children(sup);
  // A normal stop: only the permanent child comes back.
  for (auto& k : kids)
    caf::anon_send_exit(k.handle, caf::exit_reason::user_shutdown);
  ctx.run();
  // The temporary child is forgotten (OTP), the transient one kept.
  auto after = children(sup);
  ASSERT_EQ(after.size(), 2u);
  EXPECT_TRUE(after[0].running);
  EXPECT_FALSE(after[1].running);
  stop(sup);

  // A crash: the transient child comes back too, the temporary one not.
  std::vector<troupe::child_spec> specs2{
    worker_spec("trans", log, troupe::restart_type::transient),
    worker_spec("temp", log, troupe::restart_type::temporary)};
  auto sup2 = troupe::spawn_supervisor(*ctx.sys, {}, std::move(specs2));
  ctx.run();
  for (auto& k : children(sup2))
    caf::anon_send_exit(k.handle, caf::exit_reason::kill);
  ctx.run();
  auto after2 = children(sup2);
  ASSERT_EQ(after2.size(), 1u);
  EXPECT_TRUE(after2[0].running);
  stop(sup2);
}

TEST_F(Supervisor, TooManyRestartsEscalate) {
  auto reason = crash_first_child_three_times({"a", "b"});
  EXPECT_NE(troupe::describe(reason).find("more than 2 restarts"),
            std::string::npos)
    << troupe::describe(reason);
  // Its children were stopped, in reverse order, before it went down.
  ASSERT_GE(log->size(), 2u);
  EXPECT_EQ((*log)[log->size() - 2], "stop b");
  EXPECT_EQ(log->back(), "stop a");
}

TEST_F(Supervisor, RestartsOutsideThePeriodDoNotCount) {
  auto sup = start(troupe::strategy::one_for_one, {"a"}, 2);
  auto a = children(sup)[0].handle;
  for (int i = 1; i <= 6; ++i) {
    ask<int>(a, 100 * i);
    ctx.sched->clock().advance_time(3s); // period is 5 s: two per window
  }
  auto kids = children(sup);
  ASSERT_EQ(kids.size(), 1u);
  EXPECT_EQ(kids[0].restarts, 6u);
  stop(sup);
}

TEST_F(Supervisor, EscalationClimbsAThreeLevelTree) {
  // root -> mid -> worker; the worker's crash loop exhausts mid, and root
  // restarts mid (which starts a fresh worker).
  troupe::child_spec mid;
  mid.id = "mid";
  mid.kind = troupe::child_kind::supervisor;
  mid.start = [log = log](caf::actor_system& sys) {
    troupe::supervisor_flags flags;
    flags.max_restarts = 1;
    return troupe::spawn_supervisor(sys, flags, {worker_spec("w", log)});
  };
  auto root = troupe::spawn_supervisor(*ctx.sys, {}, {mid});
  ctx.run();
  auto mid1 = children(root)[0].handle;
  auto w1 = children(mid1)[0].handle;
  ask<int>(w1, 100);
  ask<int>(w1, 200); // second restart within the period: mid gives up
  ctx.run();
  auto top = children(root);
  ASSERT_TRUE(top[0].running);
  EXPECT_NE(top[0].handle, mid1);
  EXPECT_EQ(top[0].restarts, 1u);
  EXPECT_NE(top[0].last_failure.find("escalated"), std::string::npos)
    << top[0].last_failure;
  auto w2 = children(top[0].handle)[0].handle;
  EXPECT_NE(w2, w1);
  EXPECT_EQ(*ask<int>(w2, 4), 4);
  stop(root);
}

TEST_F(Supervisor, ChildThatIgnoresShutdownIsKilledAfterItsTimeout) {
  troupe::child_spec stubborn;
  stubborn.id = "stubborn";
  stubborn.shutdown = 2s;
  stubborn.start = [log = log](caf::actor_system& sys) {
    return sys.spawn([log](caf::event_based_actor* s) {
      s->set_exit_handler([log](caf::exit_msg& x) {
        log->push_back("ignored " + troupe::describe(x.reason));
      });
      s->attach_functor([log] { log->push_back("stubborn gone"); });
      return caf::behavior{[](int) {}};
    });
  };
  auto sup = troupe::spawn_supervisor(*ctx.sys, {},
                                      {worker_spec("a", log), stubborn});
  ctx.run();
  self->monitor(sup);
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  ctx.run();
  // Still waiting for the stubborn child: a has not been stopped yet.
  EXPECT_EQ(log->back(), "ignored user_shutdown");
  ctx.sched->trigger_timeouts();
  ctx.run();
  EXPECT_EQ(*log, (std::vector<std::string>{"start a", "ignored user_shutdown",
                                             "stubborn gone", "stop a"}));
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; });
  EXPECT_TRUE(down);
}

TEST_F(Supervisor, TenThousandMessagesOneFailureInEveryHundred) {
  auto sup = start(troupe::strategy::one_for_one, {"a"}, 1000);
  auto a = children(sup)[0].handle;
  for (int i = 1; i <= 10000; ++i)
    caf::anon_send(a, i);
  ctx.run();
  std::vector<std::string> expected{"start a"};
  for (int i = 1; i <= 10000; ++i)
    if (i % 100 != 0)
      expected.push_back(std::to_string(i));
  // Drop the lifecycle lines of the 100 restarts, keep the handled values.
  std::vector<std::string> handled;
  size_t restarts = 0;
  for (auto& line : *log)
    if (line == "stop a")
      ++restarts;
    else if (line != "start a" || handled.empty())
      handled.push_back(line);
  EXPECT_EQ(handled, expected);
  EXPECT_EQ(restarts, 100u);
  auto kids = children(sup);
  EXPECT_EQ(kids[0].handle, a);
  EXPECT_EQ(kids[0].restarts, 100u);
  stop(sup);
}

TEST_F(Supervisor, StableHandleReachesEveryIncarnation) {
  auto sup = start(troupe::strategy::one_for_one, {"a"});
  auto stable = children(sup)[0].stable;
  ASSERT_TRUE(stable);
  EXPECT_EQ(*ask<int>(stable, 5), 5);
  // Restart in place: same incarnation, fresh state.
  EXPECT_FALSE(ask<int>(stable, 100));
  EXPECT_EQ(*ask<int>(stable, 2), 2);
  // Respawn: a new incarnation behind the same stable handle.
  auto first = children(sup)[0].handle;
  caf::anon_send_exit(first, caf::exit_reason::kill);
  ctx.run();
  auto kids = children(sup);
  EXPECT_NE(kids[0].handle, first);
  EXPECT_EQ(kids[0].stable, stable);
  EXPECT_EQ(*ask<int>(stable, 3), 3);
  stop(sup);
}

TEST_F(Supervisor, RequestsRacingADeathGetAnErrorNotSilence) {
  auto sup = start(troupe::strategy::one_for_one, {"a"});
  auto kids = children(sup);
  auto stable = kids[0].stable;
  // The kill is queued before the requests: the stable handle forwards them
  // to an incarnation that is already dead, and CAF bounces each one.
  caf::anon_send_exit(kids[0].handle, caf::exit_reason::kill);
  std::vector<decltype(self->request(stable, caf::infinite, 1))> handles;
  for (int i = 1; i <= 3; ++i)
    handles.push_back(self->request(stable, caf::infinite, i));
  ctx.run();
  int answered = 0;
  int failed = 0;
  for (auto& rh : handles)
    rh.receive([&](int) { ++answered; }, [&](caf::error&) { ++failed; });
  EXPECT_EQ(answered, 0);
  EXPECT_EQ(failed, 3);
  // The next request reaches the new incarnation.
  EXPECT_EQ(*ask<int>(stable, 10), 10);
  stop(sup);
}

TEST_F(Supervisor, StableHandleOfAChildThatIsGoneAnswersWithAnError) {
  std::vector<troupe::child_spec> specs{
    worker_spec("temp", log, troupe::restart_type::temporary)};
  auto sup = troupe::spawn_supervisor(*ctx.sys, {}, std::move(specs));
  ctx.run();
  auto kids = children(sup);
  caf::anon_send_exit(kids[0].handle, caf::exit_reason::kill);
  ctx.run();
  auto reply = ask<int>(kids[0].stable, 1);
  ASSERT_FALSE(reply);
  stop(sup);
}
