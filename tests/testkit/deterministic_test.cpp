// SPDX-License-Identifier: Apache-2.0
// troupe::testkit::deterministic: an actor stepped by the test, its timeout
// fired on virtual time.
#include "troupe/testkit/deterministic.hpp"

#include <chrono>
#include <vector>

#include <caf/atom.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <gtest/gtest.h>

#include "troupe/actor/spawn.hpp"
#include "troupe/error.hpp"
#include "troupe/wire/proto.hpp"
#include "troupe_test/test.pb.h"

using namespace std::chrono_literals;

namespace {

using remind_atom = caf::atom_constant<caf::atom("remind")>;
using count_atom = caf::atom_constant<caf::atom("count")>;

struct reminder_state {
  static inline const char* name = "reminder";
  uint64_t pings = 0;
  int reminders = 0;
};

/// Answers a Ping with a Pong, and reminds itself 5 s after each one.
caf::behavior reminder(troupe::stateful_actor<reminder_state>* self) {
  return {
    [self](const troupe_test::Ping& x) {
      self->state.pings += x.seq();
      self->delayed_send(self, 5s, remind_atom::value);
      troupe_test::Pong reply;
      reply.set_seq(self->state.pings);
      reply.set_from(self->name());
      return reply;
    },
    [self](remind_atom) { ++self->state.reminders; },
    [self](count_atom) { return self->state.reminders; },
  };
}

struct held_state {
  std::vector<caf::typed_response_promise<int>> held;
};

troupe_test::Ping ping(uint64_t seq) {
  troupe_test::Ping x;
  x.set_seq(seq);
  return x;
}

} // namespace

TEST(TestkitDeterministic, NothingRunsUntilTheTestSteps) {
  troupe::testkit::deterministic d;
  auto a = troupe::spawn(d.system(), reminder);
  d.run();
  caf::anon_send(a, ping(1));
  EXPECT_TRUE(d.has_work());
  EXPECT_TRUE(d.run_once());
  EXPECT_FALSE(d.has_work());
  auto n = d.ask<int>(a, count_atom::value);
  ASSERT_TRUE(n) << troupe::describe(n.error());
  EXPECT_EQ(*n, 0); // the reminder waits on the virtual clock
  EXPECT_TRUE(d.has_pending_timeout());
}

TEST(TestkitDeterministic, StepsAnActorAndFiresItsTimeoutOnVirtualTime) {
  troupe::testkit::deterministic d{[](troupe::wire::type_registry& types) {
    types.add<troupe_test::Ping>();
    types.add<troupe_test::Pong>();
  }};
  auto a = troupe::spawn(d.system(), reminder);
  auto reminders = [&] {
    auto n = d.ask<int>(a, count_atom::value);
    return n ? *n : -1;
  };
  auto start = d.now();
  auto pong = d.ask<troupe_test::Pong>(a, ping(2));
  ASSERT_TRUE(pong) << troupe::describe(pong.error());
  EXPECT_EQ(pong->seq(), 2u);
  EXPECT_EQ(pong->from(), "reminder");
  // 4 s later the reminder is still due; at 5 s it fires.
  EXPECT_EQ(d.advance_time(4s), 0u);
  EXPECT_EQ(reminders(), 0);
  EXPECT_EQ(d.advance_time(1s), 1u);
  EXPECT_EQ(reminders(), 1);
  EXPECT_FALSE(d.has_pending_timeout());
  EXPECT_EQ(d.now() - start, caf::timespan{5s});
  // trigger_timeout jumps to the next one without naming the delay.
  ASSERT_TRUE(d.ask<troupe_test::Pong>(a, ping(1)));
  EXPECT_TRUE(d.trigger_timeout());
  EXPECT_EQ(reminders(), 2);
  EXPECT_FALSE(d.trigger_timeout());
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  d.run();
}

TEST(TestkitDeterministic, AnAskThatGetsNoReplySaysSo) {
  troupe::testkit::deterministic d;
  // An actor that keeps its requests unanswered.
  auto keeper = d.system().spawn(
    [](caf::stateful_actor<held_state>* self) -> caf::behavior {
      return {[self](int) -> caf::result<int> {
        auto rp = self->make_response_promise<int>();
        self->state.held.push_back(rp);
        return rp;
      }};
    });
  auto r = d.ask<int>(keeper, 41);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), static_cast<uint8_t>(caf::sec::request_timeout));
  caf::anon_send_exit(keeper, caf::exit_reason::user_shutdown);
  d.run();
}
