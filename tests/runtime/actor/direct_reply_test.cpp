// SPDX-License-Identifier: Apache-2.0
// The guarded behavior's two shortcuts (runtime/actor/direct_reply.hpp):
// a message built as a caf::message is matched on its data, and a value a
// handler returns is sent back without a response promise. Each must do
// exactly what CAF's own path does, including the cases it hands back to
// CAF: forwarding stages, errors, empty results, shared messages.
#include <string>
#include <tuple>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/message.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <gtest/gtest.h>

#include "runtime/deterministic.hpp"
#include "troupe/actor/spawn.hpp"
#include "troupe/actor/stateful_actor.hpp"

namespace {

using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;
using empty_atom = caf::atom_constant<caf::atom("empty")>;
using fail_atom = caf::atom_constant<caf::atom("failit")>;

struct echo_state {
  static inline const char* name = "reply.echo";
  std::string seen;
};

// Answers a ping with pong and the next number, an "empty" with an empty
// message, a "failit" with an error; appends "!" to any text it is given.
caf::behavior echo(troupe::stateful_actor<echo_state>* self) {
  return {
    [](ping_atom, int i) { return std::make_tuple(pong_atom::value, i + 1); },
    [](empty_atom) { return caf::message{}; },
    [](fail_atom) -> caf::error { return caf::sec::invalid_argument; },
    [self](std::string& text) {
      text += "!";
      self->state.seen = text;
    },
  };
}

struct client_state {
  static inline const char* name = "reply.client";
  int pong = 0;
  bool from_echo = false;
  bool async = false;
  int others = 0;
};

// Sends one message to `to` and records what comes back.
caf::behavior client(caf::stateful_actor<client_state>* self, caf::actor to,
                     caf::message first) {
  self->set_default_handler([self](caf::scheduled_actor*, caf::message_view&) {
    ++self->state.others;
    return caf::message{};
  });
  self->send(to, std::move(first));
  return {
    [self, to](pong_atom, int i) {
      self->state.pong = i;
      self->state.from_echo = self->current_sender() == to;
      self->state.async = self->current_message_id().is_async();
    },
  };
}

// Lets a client send `first` to an echo and returns what came back to it.
client_state exchange(caf::message first) {
  troupe::test::deterministic d;
  auto e = troupe::spawn(*d.sys, echo);
  auto c = d.sys->spawn(client, e, std::move(first));
  d.run();
  auto st = caf::actor_cast<caf::stateful_actor<client_state>*>(c)->state;
  caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(e, caf::exit_reason::user_shutdown);
  d.run();
  return st;
}

TEST(DirectReply, AValueReturnedForASendGoesBackAsAnOrdinaryMessage) {
  auto st = exchange(caf::make_message(ping_atom::value, 41));
  EXPECT_EQ(st.pong, 42);
  EXPECT_TRUE(st.from_echo) << "the reply's sender is the echo";
  EXPECT_TRUE(st.async) << "a reply to a send is not a response";
  EXPECT_EQ(st.others, 0);
}

TEST(DirectReply, AnEmptyResultOfASendIsNotSentBack) {
  auto st = exchange(caf::make_message(empty_atom::value));
  EXPECT_EQ(st.pong, 0);
  EXPECT_EQ(st.others, 0) << "CAF drops an empty answer to a send";
}

TEST(DirectReply, RequestsGetTheirValuesAndErrors) {
  troupe::test::deterministic d;
  auto e = troupe::spawn(*d.sys, echo);
  caf::scoped_actor self{*d.sys};
  auto value = self->request(e, caf::infinite, ping_atom::value, 1);
  d.run();
  int got = 0;
  value.receive([&](pong_atom, int i) { got = i; },
                [](caf::error& err) { FAIL() << caf::to_string(err); });
  EXPECT_EQ(got, 2);
  auto failing = self->request(e, caf::infinite, fail_atom::value);
  d.run();
  caf::error err;
  failing.receive([](caf::message&) { FAIL() << "a value for an error"; },
                  [&](caf::error& x) { err = std::move(x); });
  EXPECT_EQ(err, caf::sec::invalid_argument);
  caf::anon_send_exit(e, caf::exit_reason::user_shutdown);
  d.run();
}

// A composed actor forwards through stages: the first actor's answer goes to
// the next stage, not back to the requester.
TEST(DirectReply, AnswersFollowForwardingStages) {
  troupe::test::deterministic d;
  auto first = troupe::spawn(*d.sys, echo);
  auto twice = d.sys->spawn([] {
    return caf::behavior{[](pong_atom, int i) { return i * 10; }};
  });
  auto composed = twice * first;
  caf::scoped_actor self{*d.sys};
  auto req = self->request(composed, caf::infinite, ping_atom::value, 4);
  d.run();
  int got = 0;
  req.receive([&](int i) { got = i; },
              [](caf::error& err) { FAIL() << caf::to_string(err); });
  EXPECT_EQ(got, 50) << "twice(echo(4)): 5 * 10";
  caf::anon_send_exit(first, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(twice, caf::exit_reason::user_shutdown);
  d.run();
}

// A message sent as a caf::message is matched on its data; a handler that
// changes its text changes a copy when the sender still holds the message.
TEST(DirectReply, AHandlerChangesACopyOfASharedMessage) {
  troupe::test::deterministic d;
  auto e = troupe::spawn(*d.sys, echo);
  auto msg = caf::make_message(std::string{"abc"});
  caf::anon_send(e, msg);
  d.run();
  auto& st = caf::actor_cast<troupe::stateful_actor<echo_state>*>(e)->state;
  EXPECT_EQ(st.seen, "abc!");
  EXPECT_EQ(msg.get_as<std::string>(0), "abc") << "the sender's message";
  caf::anon_send_exit(e, caf::exit_reason::user_shutdown);
  d.run();
}

} // namespace
