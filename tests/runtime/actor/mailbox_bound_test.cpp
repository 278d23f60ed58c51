// SPDX-License-Identifier: Apache-2.0
// Bounded mailboxes (troupe/actor/mailbox_bound.hpp) and dead letters, on
// CAF's test_coordinator: nothing runs until the test says so, so a mailbox
// stays full exactly as long as the test wants.
#include "troupe/actor/mailbox_bound.hpp"

#include <memory>
#include <string>
#include <vector>

#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <gtest/gtest.h>

#include "runtime/deterministic.hpp"
#include "troupe/actor/spawn.hpp"
#include "troupe/error.hpp"
#include "troupe/supervision/supervisor.hpp"
#include "actor/dead_letters.hpp"
#include "wire/config_base.hpp"

namespace {

using journal = std::shared_ptr<std::vector<std::string>>;
using go_atom = caf::atom_constant<caf::atom("go")>;
using wire_dead = troupe::detail::dead_letter;

// Writes every int it handles into a journal that outlives restarts.
struct sink_state {
  static inline const char* name = "sink";
  journal log;
  std::string id;

  void on_start(troupe::stateful_actor<sink_state>*) {
    if (!id.empty())
      log->push_back("start " + id);
  }

  void on_stop(troupe::stateful_actor<sink_state>*, const caf::error&) {
    if (!id.empty())
      log->push_back("stop " + id);
  }
};

caf::behavior sink(troupe::stateful_actor<sink_state>* self, journal log,
                   std::string id) {
  self->state.log = log;
  self->state.id = id;
  return {
      [self](int x) {
        self->state.log->push_back(std::to_string(x));
        return x;
      },
  };
}

struct MailboxBound : ::testing::Test {
  troupe::test::deterministic ctx;
  caf::scoped_actor self{*ctx.sys};
  journal log = std::make_shared<std::vector<std::string>>();

  caf::actor spawn_sink(size_t capacity, troupe::overflow_policy policy) {
    auto hdl = troupe::spawn(*ctx.sys, troupe::mailbox_bound{capacity, policy},
                             sink, log, std::string{});
    ctx.run(); // initialized, idle
    return hdl;
  }

  // Sends ints `from`..`to` one-way, without running anything.
  void send_ints(const caf::actor& dst, int from, int to) {
    for (int i = from; i <= to; ++i)
      self->send(dst, i);
  }

  caf::error ask_error(const caf::actor& dst, int x) {
    caf::error result;
    auto rh = self->request(dst, caf::infinite, x);
    ctx.run();
    rh.receive(
        [&](int) {
          result = caf::error{};
        },
        [&](caf::error& err) {
          result = std::move(err);
        });
    return result;
  }

  uint64_t dropped(const caf::actor& hdl) {
    auto ptr = caf::actor_cast<caf::abstract_actor*>(hdl);
    return dynamic_cast<troupe::actor_base*>(ptr)->figures().dropped.load();
  }

  uint64_t dead(wire_dead why) {
    auto counts = troupe::detail::letters_of(*ctx.sys);
    return counts->of(why);
  }

  uint64_t node_dropped() {
    return troupe::detail::letters_of(*ctx.sys)->mailbox_dropped.load();
  }

  std::vector<std::string> ints(std::initializer_list<int> xs) {
    std::vector<std::string> out;
    for (auto x : xs)
      out.push_back(std::to_string(x));
    return out;
  }
};

bool is_mailbox_full(const caf::error& err) {
  return err.category() == troupe::error_category &&
         err.code() == static_cast<uint8_t>(troupe::errc::mailbox_full);
}

} // namespace

TEST_F(MailboxBound, DropNewestKeepsTheFirstN) {
  auto a = spawn_sink(3, troupe::overflow_policy::drop_newest);
  send_ints(a, 1, 5);
  ctx.run();
  EXPECT_EQ(*log, ints({1, 2, 3}));
  EXPECT_EQ(dropped(a), 2u);
  EXPECT_EQ(dead(wire_dead::mailbox_full), 2u);
  EXPECT_EQ(node_dropped(), 2u);
  // Drained: room again.
  send_ints(a, 6, 6);
  ctx.run();
  EXPECT_EQ(log->back(), "6");
}

TEST_F(MailboxBound, DropOldestKeepsTheLastN) {
  auto a = spawn_sink(2, troupe::overflow_policy::drop_oldest);
  send_ints(a, 1, 5);
  ctx.run();
  EXPECT_EQ(*log, ints({4, 5}));
  EXPECT_EQ(dropped(a), 3u);
  EXPECT_EQ(dead(wire_dead::mailbox_full), 3u);
  // Within the bound nothing is dropped.
  send_ints(a, 6, 7);
  ctx.run();
  EXPECT_EQ(*log, ints({4, 5, 6, 7}));
  EXPECT_EQ(dropped(a), 3u);
}

TEST_F(MailboxBound, DropOldestAnswersADiscardedRequest) {
  auto a = spawn_sink(1, troupe::overflow_policy::drop_oldest);
  auto rh = self->request(a, caf::infinite, 1);
  send_ints(a, 2, 2);
  ctx.run();
  caf::error err;
  rh.receive(
      [](int) {
        FAIL() << "the oldest request was handled";
      },
      [&](caf::error& x) {
        err = std::move(x);
      });
  EXPECT_TRUE(is_mailbox_full(err)) << troupe::describe(err);
  EXPECT_EQ(*log, ints({2}));
  // A request is no dead letter: its sender was told.
  EXPECT_EQ(dead(wire_dead::mailbox_full), 0u);
  EXPECT_EQ(node_dropped(), 1u);
}

TEST_F(MailboxBound, RejectAnswersRequestsAndCountsPlainSends) {
  auto a = spawn_sink(2, troupe::overflow_policy::reject);
  send_ints(a, 1, 2);
  // Full: refused in the sender's thread, before the actor runs.
  auto err = ask_error(a, 3);
  ASSERT_TRUE(is_mailbox_full(err)) << troupe::describe(err);
  auto text = troupe::describe(err);
  EXPECT_NE(text.find("'sink'"), std::string::npos) << text;
  EXPECT_NE(text.find("reject"), std::string::npos) << text;
  EXPECT_EQ(*log, ints({1, 2})); // ask_error ran the actor
  send_ints(a, 4, 5);
  send_ints(a, 6, 7); // over the bound again
  ctx.run();
  EXPECT_EQ(*log, ints({1, 2, 4, 5}));
  EXPECT_EQ(dropped(a), 3u);
  EXPECT_EQ(dead(wire_dead::mailbox_full), 2u);
  EXPECT_EQ(node_dropped(), 3u);
}

TEST_F(MailboxBound, DropNewestAnswersRequestsToo) {
  auto a = spawn_sink(1, troupe::overflow_policy::drop_newest);
  send_ints(a, 1, 1);
  auto err = ask_error(a, 2);
  EXPECT_TRUE(is_mailbox_full(err)) << troupe::describe(err);
}

TEST_F(MailboxBound, UnboundedByDefault) {
  auto a = troupe::spawn(*ctx.sys, sink, log, std::string{});
  send_ints(a, 1, 1000);
  ctx.run();
  EXPECT_EQ(log->size(), 1000u);
  EXPECT_EQ(dropped(a), 0u);
  EXPECT_EQ(node_dropped(), 0u);
}

TEST_F(MailboxBound, ExitGetsThroughAFullMailboxAndLaterSendsAreDeadLetters) {
  auto a = spawn_sink(1, troupe::overflow_policy::reject);
  send_ints(a, 1, 2);
  ASSERT_EQ(dropped(a), 1u) << "not full";
  self->send_exit(a, troupe::make_error(troupe::errc::escalated, "stop"));
  ctx.run();
  EXPECT_EQ(*log, ints({1}));
  // Ended: one-way messages are dead letters, requests errors from CAF.
  send_ints(a, 3, 4);
  EXPECT_EQ(dead(wire_dead::actor_gone), 2u);
  auto err = ask_error(a, 5);
  EXPECT_TRUE(err);
  EXPECT_EQ(dead(wire_dead::actor_gone), 2u);
}

TEST_F(MailboxBound, EndedUnboundedActorsCountDeadLettersToo) {
  auto a = troupe::spawn(*ctx.sys, sink, log, std::string{});
  ctx.run();
  self->send_exit(a, caf::exit_reason::user_shutdown);
  ctx.run();
  send_ints(a, 1, 3);
  EXPECT_EQ(dead(wire_dead::actor_gone), 3u);
}

TEST_F(MailboxBound, DownGetsThroughAFullMailbox) {
  auto watched = troupe::spawn(*ctx.sys, sink, log, std::string{});
  auto a = troupe::spawn(
      *ctx.sys, troupe::mailbox_bound{1, troupe::overflow_policy::reject},
      [](troupe::stateful_actor<sink_state>* self, journal log,
         caf::actor watched) -> caf::behavior {
        self->state.log = log;
        self->monitor(watched);
        self->set_down_handler([self](caf::down_msg&) {
          self->state.log->push_back("down");
        });
        return {[self](int x) {
          self->state.log->push_back(std::to_string(x));
        }};
      },
      log, watched);
  ctx.run();
  // The watched actor goes first, the full mailbox's owner after it.
  self->send_exit(watched, caf::exit_reason::kill);
  send_ints(a, 1, 2);
  ASSERT_EQ(dropped(a), 1u) << "not full";
  ctx.sched->run_once(); // `watched` dies: its down message meets a full box
  ctx.run();
  EXPECT_EQ(*log, (std::vector<std::string>{"1", "down"}));
  EXPECT_EQ(dropped(a), 1u);
}

TEST_F(MailboxBound, ResponseToItsOwnRequestGetsThroughAFullMailbox) {
  auto helper = troupe::spawn(*ctx.sys, sink, log, std::string{});
  auto a = troupe::spawn(
      *ctx.sys, troupe::mailbox_bound{1, troupe::overflow_policy::reject},
      [](troupe::stateful_actor<sink_state>* self, journal log,
         caf::actor helper) -> caf::behavior {
        self->state.log = log;
        return {
            [self, helper](go_atom) {
              self->request(helper, caf::infinite, 42).then([self](int x) {
                self->state.log->push_back("reply " + std::to_string(x));
              });
            },
            [self](int x) {
              self->state.log->push_back("a " + std::to_string(x));
            },
        };
      },
      log, helper);
  ctx.run();
  self->send(a, go_atom::value);
  ctx.sched->run_once(); // `a` sends its request; `helper` is scheduled
  send_ints(a, 1, 2);    // fills `a` (behind `helper`) and one over
  ASSERT_EQ(dropped(a), 1u) << "not full";
  ctx.sched->run_once(); // `helper` answers into the full mailbox
  ctx.run();
  EXPECT_EQ(*log, (std::vector<std::string>{"42", "a 1", "reply 42"}));
  EXPECT_EQ(dropped(a), 1u);
}

TEST_F(MailboxBound, SupervisorRestartGetsThroughAFullMailbox) {
  // "a" is bounded through its child spec; "b" fails, and one_for_all
  // makes the supervisor restart "a" in place with an exit message.
  auto spec = [this](std::string id, size_t capacity) {
    troupe::child_spec s;
    s.id = id;
    s.mailbox = {capacity, troupe::overflow_policy::reject};
    s.start = [this, id](caf::actor_system& sys) {
      return troupe::spawn(
          sys,
          [](troupe::stateful_actor<sink_state>* self, journal log,
             std::string id) -> caf::behavior {
            self->state.log = log;
            self->state.id = id;
            return {[self](int x) {
              if (x == 100)
                throw std::runtime_error("bad value");
              self->state.log->push_back(std::to_string(x));
            }};
          },
          log, id);
    };
    return s;
  };
  troupe::supervisor_flags flags;
  flags.strategy = troupe::strategy::one_for_all;
  auto sup =
      troupe::spawn_supervisor(*ctx.sys, flags, {spec("a", 1), spec("b", 0)});
  ctx.run();
  std::vector<troupe::child_status> kids;
  auto rh = self->request(sup, caf::infinite, troupe::children_atom::value);
  ctx.run();
  rh.receive(
      [&](std::vector<troupe::child_status>& xs) {
        kids = xs;
      },
      [&](caf::error& err) {
        FAIL() << troupe::describe(err);
      });
  ASSERT_EQ(kids.size(), 2u);
  auto a = kids[0].handle;
  auto b = kids[1].handle;
  auto base = [](const caf::actor& x) {
    return dynamic_cast<troupe::actor_base*>(
        caf::actor_cast<caf::abstract_actor*>(x));
  };
  EXPECT_EQ(base(a)->bound().capacity, 1u) << "child spec's bound not taken";
  EXPECT_FALSE(base(b)->bound().bounded());
  EXPECT_FALSE(base(sup)->bound().bounded()) << "a supervisor is never bound";
  log->clear();
  self->send(b, 100);
  ctx.sched->run_once(); // b fails and asks its supervisor what to do
  send_ints(a, 1, 2);    // fills "a" (behind the supervisor) and one over
  ASSERT_EQ(dropped(a), 1u) << "not full";
  ctx.run(); // the supervisor's exit message meets a full box
  // "a" takes its message, then the restart; "b" restarts when the
  // supervisor's order comes back, after it sent "a" its restart.
  EXPECT_EQ(*log, (std::vector<std::string>{"1", "stop a", "start a", "stop b",
                                            "start b"}));
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  ctx.run();
}
