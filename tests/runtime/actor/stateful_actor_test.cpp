// SPDX-License-Identifier: Apache-2.0
#include "troupe/actor/stateful_actor.hpp"

#include <memory>
#include <string>
#include <vector>

#include <caf/after.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <gtest/gtest.h>

#include "runtime/deterministic.hpp"
#include "troupe/actor/spawn.hpp"
#include "troupe/error.hpp"
#include "troupe/log.hpp"
#include "troupe/wire/proto.hpp"
#include "troupe/wire/rejected_message.hpp"
#include "troupe_test/test.pb.h"

using namespace std::chrono_literals;
using troupe_test::Boom;
using troupe_test::Ping;
using troupe_test::Pong;

namespace {

using journal = std::shared_ptr<std::vector<std::string>>;

struct counter_state {
  static inline const char* name = "counter";
  uint64_t total = 0;
  journal log;

  void on_start(troupe::stateful_actor<counter_state>*) {
    if (log)
      log->push_back("start");
  }

  void on_stop(troupe::stateful_actor<counter_state>*,
               const caf::error& reason) {
    if (log)
      log->push_back("stop:" + troupe::describe(reason));
  }
};

caf::behavior counter(troupe::stateful_actor<counter_state>* self,
                      journal log) {
  self->state.log = log;
  return {
    [self](const Ping& x) {
      self->state.total += x.seq();
      Pong reply;
      reply.set_seq(self->state.total);
      reply.set_from(self->name());
      return reply;
    },
    [self](const Boom& x) -> Pong { throw std::runtime_error(x.why()); },
  };
}

Ping ping(uint64_t seq) {
  Ping x;
  x.set_seq(seq);
  return x;
}

struct StatefulActor : ::testing::Test {
  troupe::test::deterministic ctx{[](troupe::wire::detail::config_base& cfg) {
    cfg.types.add<Boom>();
  }};
  caf::scoped_actor self{*ctx.sys};
  journal log = std::make_shared<std::vector<std::string>>();

  // Sends a request, runs the system and returns the reply or the error.
  template <class T>
  caf::expected<T> ask(const caf::actor& dst, caf::message msg) {
    return ctx.ask<T>(self, dst, std::move(msg));
  }
};

} // namespace

TEST_F(StatefulActor, AnswersTypedRequestsAndKeepsState) {
  auto c = troupe::spawn(*ctx.sys, counter, log);
  ctx.run();
  auto r1 = ask<Pong>(c, caf::make_message(ping(2)));
  ASSERT_TRUE(r1) << troupe::describe(r1.error());
  EXPECT_EQ(r1->seq(), 2u);
  EXPECT_EQ(r1->from(), "counter");
  auto r2 = ask<Pong>(c, caf::make_message(ping(40)));
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->seq(), 42u);
  caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
  ctx.run();
}

TEST_F(StatefulActor, RunsStartAndStopHooks) {
  auto c = troupe::spawn(*ctx.sys, counter, log);
  ctx.run();
  ASSERT_EQ(*log, std::vector<std::string>{"start"});
  caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
  ctx.run();
  ASSERT_EQ(log->size(), 2u);
  EXPECT_EQ((*log)[1], "stop:" + troupe::describe(caf::exit_reason::user_shutdown));
}

TEST_F(StatefulActor, ThrowingHandlerAnswersRequesterAndEndsActor) {
  auto c = troupe::spawn(*ctx.sys, counter, log);
  self->monitor(c);
  ctx.run();
  Boom boom;
  boom.set_why("kaput");
  auto r = ask<Pong>(c, caf::make_message(boom));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().category(), troupe::error_category);
  EXPECT_EQ(r.error().code(), static_cast<uint8_t>(troupe::errc::handler_failed));
  auto text = troupe::describe(r.error());
  EXPECT_NE(text.find("kaput"), std::string::npos) << text;
  EXPECT_NE(text.find("troupe_test.Boom"), std::string::npos) << text;
  bool down = false;
  self->receive([&](const caf::down_msg& dm) {
    down = true;
    EXPECT_EQ(dm.reason.code(),
              static_cast<uint8_t>(troupe::errc::handler_failed));
  }, caf::after(0s) >> [] {});
  EXPECT_TRUE(down);
  EXPECT_EQ(log->back().rfind("stop:handler_failed", 0), 0u) << log->back();
}

TEST_F(StatefulActor, FailureHandlerCanRestartInPlace) {
  // The seam the supervision layer uses: same address, fresh state, and the
  // messages queued behind the failing one are still handled.
  auto c = troupe::spawn(*ctx.sys, counter, log);
  ctx.run();
  caf::anon_send(c, caf::make_message(ping(5))); // warm state: total = 5
  ctx.run();
  auto ptr = caf::actor_cast<troupe::stateful_actor<counter_state>*>(c);
  ptr->on_failure([](troupe::actor_base* base, troupe::handler_failure& f) {
    static_cast<troupe::stateful_actor<counter_state>*>(base)
      ->restart_in_place(troupe::make_error(troupe::errc::handler_failed,
                                            f.what));
  });
  Boom boom;
  boom.set_why("again");
  auto r1 = self->request(c, caf::infinite, boom);
  auto r2 = self->request(c, caf::infinite, ping(1));
  ctx.run();
  int errors = 0;
  uint64_t total = 0;
  for (auto* rh : {&r1, &r2})
    rh->receive([&](const Pong& x) { total = x.seq(); },
                [&](const caf::error&) { ++errors; });
  EXPECT_EQ(errors, 1);
  EXPECT_EQ(total, 1u) << "state must be rebuilt from scratch";
  caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
  ctx.run();
}

TEST_F(StatefulActor, BehaviorsFromBecomeAreGuardedToo) {
  struct st {};
  auto a = troupe::spawn(*ctx.sys, [](troupe::stateful_actor<st>* s)
                                      -> caf::behavior {
    return {[s](const Ping&) {
      s->become([](const Boom& b) -> Pong { throw std::logic_error(b.why()); });
      return Pong{};
    }};
  });
  ctx.run();
  ASSERT_TRUE(ask<Pong>(a, caf::make_message(ping(1))));
  Boom boom;
  boom.set_why("inside become");
  auto r = ask<Pong>(a, caf::make_message(boom));
  ASSERT_FALSE(r);
  EXPECT_NE(troupe::describe(r.error()).find("inside become"),
            std::string::npos);
}

TEST_F(StatefulActor, RequestsTimeOutWhenNoReplyComes) {
  struct st {};
  auto silent = troupe::spawn(*ctx.sys, [](troupe::stateful_actor<st>* s)
                                           -> caf::behavior {
    return {[s](const Ping&) { s->make_response_promise(); }};
  });
  ctx.run();
  auto rh = self->request(silent, 1s, ping(1));
  ctx.run();
  ctx.sched->trigger_timeouts();
  ctx.run();
  caf::error err;
  rh.receive([](const Pong&) {}, [&](caf::error& e) { err = e; });
  EXPECT_EQ(err, caf::sec::request_timeout);
  caf::anon_send_exit(silent, caf::exit_reason::user_shutdown);
  ctx.run();
}

TEST_F(StatefulActor, RejectedMessagesAreLoggedAndAnswered) {
  std::vector<std::string> lines;
  troupe::set_log_observer(
    [&](troupe::log_level, std::string_view line) { lines.emplace_back(line); });
  auto c = troupe::spawn(*ctx.sys, counter, log);
  ctx.run();
  troupe::wire::rejected_message rej{"troupe_test.Ping", "malformed"};
  auto r = ask<Pong>(c, caf::make_message(rej));
  troupe::set_log_observer(nullptr);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(),
            static_cast<uint8_t>(troupe::errc::rejected_message));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("troupe_test.Ping"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("malformed"), std::string::npos) << lines[0];
  // Still alive and serving.
  EXPECT_TRUE(ask<Pong>(c, caf::make_message(ping(1))));
  caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
  ctx.run();
}

TEST_F(StatefulActor, EmptyMessagesAreAnsweredWithAnError) {
  // What CAF 0.17 delivers when a remote message fails to decode.
  auto c = troupe::spawn(*ctx.sys, counter, log);
  ctx.run();
  auto r = ask<Pong>(c, caf::message{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(),
            static_cast<uint8_t>(troupe::errc::rejected_message));
  EXPECT_TRUE(ask<Pong>(c, caf::make_message(ping(1))));
  caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
  ctx.run();
}
