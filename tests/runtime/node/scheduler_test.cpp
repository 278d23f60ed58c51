// SPDX-License-Identifier: Apache-2.0
// troupe's scheduler (runtime/node/scheduler.hpp) on real threads: every job
// runs, idle workers sleep until work comes, a job made runnable behind a
// busy worker runs on another, and nodes use it unless told otherwise.
#include "node/scheduler.hpp"
#include "node/timer_clock.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/after.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <gtest/gtest.h>

#include "troupe/testkit/eventually.hpp"

#include "troupe/node/node.hpp"

using namespace std::chrono_literals;

namespace {

using add_atom = caf::atom_constant<caf::atom("add")>;
using get_atom = caf::atom_constant<caf::atom("get")>;
using go_atom = caf::atom_constant<caf::atom("go")>;

struct two_workers : caf::actor_system_config {
  two_workers() {
    set("scheduler.max-threads", size_t{2});
    module_factories.push_back(troupe::detail::make_scheduler);
  }
};

troupe::detail::scheduler& sched_of(caf::actor_system& sys) {
  return dynamic_cast<troupe::detail::scheduler&>(sys.scheduler());
}

using troupe::testkit::eventually;

caf::behavior counter(caf::event_based_actor* self,
                      std::shared_ptr<int64_t> sum) {
  return {
    [sum](add_atom, int64_t x) { *sum += x; },
    [sum](get_atom) { return *sum; },
    // Forwards to a fresh child: jobs made runnable on a worker.
    [self](add_atom, int64_t x, int hops) {
      if (hops == 0)
        return;
      auto child = self->spawn([](caf::event_based_actor* c) -> caf::behavior {
        return {[c](add_atom, int64_t, int) { c->quit(); }};
      });
      self->send(child, add_atom::value, x, hops - 1);
    },
  };
}

} // namespace

TEST(Scheduler, RunsEveryJobFromAnyThread) {
  two_workers cfg;
  caf::actor_system sys{cfg};
  std::vector<caf::actor> counters;
  std::vector<std::shared_ptr<int64_t>> sums;
  for (int i = 0; i < 8; ++i) {
    sums.push_back(std::make_shared<int64_t>(0));
    counters.push_back(sys.spawn(counter, sums.back()));
  }
  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t)
    senders.emplace_back([&] {
      for (int i = 0; i < 10'000; ++i) {
        auto& c = counters[static_cast<size_t>(i) % counters.size()];
        caf::anon_send(c, add_atom::value, int64_t{1});
        caf::anon_send(c, add_atom::value, int64_t{1}, 2);
      }
    });
  for (auto& t : senders)
    t.join();
  caf::scoped_actor self{sys};
  int64_t total = 0;
  for (auto& c : counters)
    self->request(c, 5s, get_atom::value)
      .receive([&](int64_t x) { total += x; },
               [&](caf::error& err) { FAIL() << to_string(err); });
  EXPECT_EQ(total, 40'000);
  for (auto& c : counters)
    caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
}

TEST(Scheduler, IdleWorkersSleepUntilWorkComes) {
  two_workers cfg;
  caf::actor_system sys{cfg};
  auto& sched = sched_of(sys);
  auto c = sys.spawn(counter, std::make_shared<int64_t>(0));
  caf::scoped_actor self{sys};
  self->request(c, 5s, get_atom::value).receive([](int64_t) {},
                                                [](caf::error&) {});
  ASSERT_TRUE(eventually([&] { return sched.sleeping() == 2; }));
  // Idle for 300 ms: CAF's work stealing wakes each worker every 10 ms
  // (about 60 times here); these sleep until work comes, or for their
  // 1 s safety timeout.
  auto before = sched.stats();
  std::this_thread::sleep_for(300ms); // the window measured, not a sync
  auto after = sched.stats();
  EXPECT_LE(after.sleeps - before.sleeps, 2u);
  EXPECT_EQ(sched.sleeping(), 2u);
  // Work wakes one.
  bool answered = false;
  self->request(c, 5s, get_atom::value)
    .receive([&](int64_t) { answered = true; }, [](caf::error&) {});
  EXPECT_TRUE(answered);
  EXPECT_GT(sched.stats().wakeups, after.wakeups);
  caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
}

TEST(Scheduler, AJobMadeRunnableBehindABusyWorkerRunsOnAnother) {
  two_workers cfg;
  caf::actor_system sys{cfg};
  auto& sched = sched_of(sys);
  caf::scoped_actor self{sys};
  auto y = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
    return {[](go_atom, const caf::actor& to) { caf::anon_send(to, go_atom::value); }};
  });
  std::promise<void> release;
  auto released = release.get_future().share();
  // x makes y runnable on its own worker, then holds that worker.
  auto x = sys.spawn([y, released](caf::event_based_actor* x) -> caf::behavior {
    return {[x, y, released](go_atom, const caf::actor& to) {
      x->send(y, go_atom::value, to);
      released.wait_for(10s);
    }};
  });
  ASSERT_TRUE(eventually([&] { return sched.sleeping() == 2; }));
  caf::anon_send(x, go_atom::value, caf::actor{self});
  bool y_ran = false;
  self->receive([&](go_atom) { y_ran = true; },
                caf::after(std::chrono::seconds{5}) >> [] {});
  release.set_value();
  EXPECT_TRUE(y_ran) << "y waited for x's worker";
  caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(y, caf::exit_reason::user_shutdown);
}

TEST(Scheduler, StopsWithJobsStillComing) {
  // Each counter holds its sum: once a system has ended, a sum still held
  // by anyone else means an actor whose job was neither run nor cleaned up.
  std::vector<std::shared_ptr<int64_t>> sums;
  for (int round = 0; round < 20; ++round) {
    two_workers cfg;
    caf::actor_system sys{cfg};
    for (int i = 0; i < 50; ++i) {
      sums.push_back(std::make_shared<int64_t>(0));
      auto c = sys.spawn(counter, sums.back());
      caf::anon_send(c, add_atom::value, int64_t{1}, 3);
      caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
    }
  } // each system ends here, its workers stopped and joined
  for (auto& sum : sums)
    EXPECT_EQ(sum.use_count(), 1);
}

TEST(Scheduler, NodesUseItWhenConfigured) {
  troupe::node_config cfg;
  cfg.name = "sched";
  cfg.log = troupe::log_level::warn;
  cfg.troupe_scheduler = true;
  {
    troupe::node n{cfg};
    ASSERT_FALSE(n.start());
    EXPECT_NE(dynamic_cast<troupe::detail::scheduler*>(&n.system().scheduler()),
              nullptr);
  }
  cfg.troupe_scheduler = false;
  troupe::node n{cfg};
  ASSERT_FALSE(n.start());
  EXPECT_EQ(dynamic_cast<troupe::detail::scheduler*>(&n.system().scheduler()),
            nullptr);
}

TEST(Scheduler, TheTestingPolicyGetsCafsTestCoordinator) {
  two_workers cfg;
  cfg.set("scheduler.policy", caf::atom("testing"));
  caf::actor_system sys{cfg};
  EXPECT_NE(dynamic_cast<caf::scheduler::test_coordinator*>(&sys.scheduler()),
            nullptr);
}

TEST(Scheduler, OnlyActorsThatSetATimeoutCostTheClockWhenTheyEnd) {
  two_workers cfg;
  caf::actor_system sys{cfg};
  auto& clock = dynamic_cast<troupe::detail::timer_clock&>(sys.clock());
  caf::scoped_actor self{sys};
  // One actor with a behavior timeout, one without.
  auto timed = sys.spawn([](caf::event_based_actor* a) -> caf::behavior {
    return {[](get_atom) { return int64_t{1}; },
            caf::after(std::chrono::seconds{3600}) >> [a] { a->quit(); }};
  });
  auto plain = sys.spawn(counter, std::make_shared<int64_t>(0));
  for (auto& a : {timed, plain})
    self->request(a, 5s, get_atom::value)
      .receive([](int64_t) {}, [](caf::error&) {});
  // The scoped actor's requests set request timeouts too.
  EXPECT_EQ(clock.timed_actors(), 2u);
  self->monitor(timed);
  caf::anon_send_exit(timed, caf::exit_reason::user_shutdown);
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; },
                caf::after(std::chrono::seconds{5}) >> [] {});
  ASSERT_TRUE(down);
  // CAF cancels an actor's timeouts after it sent its down messages.
  EXPECT_TRUE(eventually([&] { return clock.timed_actors() == 1; }))
    << clock.timed_actors() << " actors noted; 1 (the scoped actor) wanted";
  // Timeouts still fire: a request nobody answers times out.
  auto mute = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
    return {[](go_atom) -> caf::result<int> { return caf::delegated<int>{}; }};
  });
  bool timed_out = false;
  self->request(mute, 50ms, go_atom::value)
    .receive([](int) {},
             [&](caf::error& err) {
               timed_out = err == caf::sec::request_timeout;
             });
  EXPECT_TRUE(timed_out);
  caf::anon_send_exit(plain, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(mute, caf::exit_reason::user_shutdown);
}
