// SPDX-License-Identifier: Apache-2.0
// A child's failure history: the ring itself, and what a supervisor records
// in it for a throw (restart in place) and a kill (respawn after its
// backoff), on virtual time.
#include "supervision/failure_history.hpp"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <gtest/gtest.h>

#include "runtime/deterministic.hpp"
#include "runtime/supervision/worker.hpp"
#include "troupe/actor/spawn.hpp"
#include "troupe/error.hpp"
#include "troupe/supervision/supervisor.hpp"

using namespace std::chrono_literals;

namespace {

using troupe::supervision::failure_decision;
using troupe::supervision::failure_history;
using troupe::supervision::time_point;

TEST(FailureHistory, KeepsTheLastTenOldestFirstEachWithItsDecision) {
  failure_history h;
  EXPECT_TRUE(h.records().empty());
  for (int i = 1; i <= 12; ++i) {
    h.add(time_point{std::chrono::milliseconds{i}}, "failure " + std::to_string(i));
    if (i % 2 == 0)
      h.decide(failure_decision::restart_in_place);
  }
  auto xs = h.records();
  ASSERT_EQ(xs.size(), failure_history::capacity);
  EXPECT_EQ(xs.front().failure, "failure 3");
  EXPECT_EQ(xs.front().time_ns, 3'000'000);
  EXPECT_EQ(xs.front().decision, "deciding") << "3 was never decided";
  EXPECT_EQ(xs[1].decision, "restart in place");
  EXPECT_EQ(xs.back().failure, "failure 12");
}

TEST(FailureHistory, DecidingWithoutAFailureChangesNothing) {
  failure_history h;
  h.decide(failure_decision::gave_up);
  EXPECT_EQ(h.size(), 0u);
}

TEST(FailureHistory, WordsEachDecision) {
  using troupe::supervision::word;
  EXPECT_EQ(word(failure_decision::respawn, 200, true),
            "respawn from its spec in 200 ms");
  EXPECT_EQ(word(failure_decision::move, 0, false),
            "move to a live node (not counted)");
  EXPECT_EQ(word(failure_decision::try_again, 0, true), "start again");
  EXPECT_EQ(word(failure_decision::gave_up, 0, true).rfind("give up", 0),
            0u);
}

// A worker that throws on multiples of 100.
struct worker_state : troupe::test::journaled_state {
  static inline const char* name = "history.worker";
};

caf::behavior worker(troupe::stateful_actor<worker_state>* self,
                     std::string id, troupe::test::journal log) {
  self->state.id = std::move(id);
  self->state.log = std::move(log);
  return {[self](int x) {
    if (x % 100 == 0)
      throw std::runtime_error("bad value " + std::to_string(x));
    return self->state.sum += x;
  }};
}

struct SupervisorHistory : ::testing::Test {
  troupe::test::deterministic ctx;
  caf::scoped_actor self{*ctx.sys};
  troupe::test::journal log = std::make_shared<std::vector<std::string>>();

  caf::actor start(troupe::supervisor_flags flags) {
    troupe::child_spec spec;
    spec.id = "a";
    spec.start = [log = log](caf::actor_system& sys) {
      return troupe::spawn(sys, worker, std::string{"a"}, log);
    };
    auto sup = troupe::spawn_supervisor(*ctx.sys, flags, {spec});
    ctx.run();
    return sup;
  }

  troupe::child_status child(const caf::actor& sup) {
    auto rh = self->request(sup, caf::infinite, troupe::children_atom::value);
    ctx.run();
    troupe::child_status out;
    rh.receive([&](std::vector<troupe::child_status>& xs) { out = xs.at(0); },
               [&](caf::error& err) { ADD_FAILURE() << troupe::describe(err); });
    return out;
  }

  void send_and_run(const caf::actor& dst, int x) {
    self->send(dst, x);
    ctx.run();
  }
};

TEST_F(SupervisorHistory, AThrowIsRecordedWithItsMessageTypeAndRestartInPlace) {
  auto sup = start({});
  send_and_run(child(sup).handle, 100);
  auto c = child(sup);
  ASSERT_EQ(c.failures.size(), 1u);
  auto& f = c.failures[0];
  EXPECT_NE(f.failure.find("bad value 100"), std::string::npos) << f.failure;
  EXPECT_NE(f.failure.find(" on @i32"), std::string::npos)
    << "names the message type (CAF's name of int32_t): " << f.failure;
  EXPECT_EQ(f.decision, "restart in place");
  EXPECT_EQ(f.time_ns, c.last_failure_ns);
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  ctx.run();
}

TEST_F(SupervisorHistory, AKillIsRecordedWithTheRespawnAndItsBackoff) {
  troupe::supervisor_flags flags;
  flags.backoff = {100ms, 400ms, 2.0, 0.0, 1000ms};
  auto sup = start(flags);
  caf::anon_send_exit(child(sup).handle, caf::exit_reason::kill);
  ctx.run();
  auto c = child(sup);
  ASSERT_EQ(c.failures.size(), 1u);
  EXPECT_NE(c.failures[0].failure.find("kill"), std::string::npos)
    << c.failures[0].failure;
  EXPECT_EQ(c.failures[0].decision, "respawn from its spec in 100 ms");
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  ctx.run();
}

} // namespace
