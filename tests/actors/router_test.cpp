// SPDX-License-Identifier: Apache-2.0
// Routers on CAF's test_coordinator: which routee gets which message.
#include "troupe/actors/router.hpp"

#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include <caf/after.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <gtest/gtest.h>

#include "runtime/deterministic.hpp"
#include "troupe/actor/spawn.hpp"
#include "troupe/error.hpp"

namespace ta = troupe::actors;

namespace {

using journal = std::shared_ptr<std::vector<std::pair<std::string, int>>>;

struct routee_state {
  static inline const char* name = "routee";
};

// Records (name, x) and answers x * 10. `(std::string key, int x)` too.
caf::behavior routee(troupe::stateful_actor<routee_state>*, std::string name,
                     journal log) {
  return {
    [=](int x) {
      log->emplace_back(name, x);
      return x * 10;
    },
    [=](const std::string&, int x) {
      log->emplace_back(name, x);
      return x * 10;
    },
  };
}

struct Router : ::testing::Test {
  troupe::test::deterministic ctx;
  caf::scoped_actor self{*ctx.sys};
  journal log = std::make_shared<std::vector<std::pair<std::string, int>>>();
  std::vector<caf::actor> routees;

  Router() {
    for (auto name : {"a", "b", "c"})
      routees.push_back(
        troupe::spawn(*ctx.sys, routee, std::string{name}, log));
    ctx.run();
  }

  ~Router() override {
    for (auto& r : routees)
      caf::anon_send_exit(r, caf::exit_reason::kill);
    ctx.run();
  }

  caf::actor make(ta::router_options opts) {
    auto r = ta::spawn_router(*ctx.sys, routees, std::move(opts));
    EXPECT_TRUE(r) << troupe::describe(r.error());
    ctx.run();
    return r ? *r : caf::actor{};
  }

  /// What each routee got, in order.
  std::map<std::string, std::vector<int>> by_routee() const {
    std::map<std::string, std::vector<int>> result;
    for (auto& e : *log)
      result[e.first].push_back(e.second);
    return result;
  }

  std::map<std::string, int> counts() const {
    std::map<std::string, int> result;
    for (auto& e : *log)
      ++result[e.first];
    return result;
  }

  template <class T, class... Ts>
  caf::expected<T> ask(const caf::actor& dst, Ts&&... xs) {
    return ctx.ask<T>(self, dst, std::forward<Ts>(xs)...);
  }
};

ta::router_options how(ta::routing x) {
  ta::router_options opts;
  opts.how = x;
  return opts;
}

} // namespace

TEST_F(Router, RoundRobinTakesTheRouteesInTurn) {
  auto r = make(how(ta::routing::round_robin));
  for (int i = 0; i < 6; ++i)
    caf::anon_send(r, i);
  ctx.run();
  std::map<std::string, std::vector<int>> expected{
    {"a", {0, 3}}, {"b", {1, 4}}, {"c", {2, 5}}};
  EXPECT_EQ(by_routee(), expected);
}

TEST_F(Router, TheRouteeAnswersTheOriginalRequester) {
  auto r = make(how(ta::routing::round_robin));
  auto x = ask<int>(r, 7);
  ASSERT_TRUE(x) << troupe::describe(x.error());
  EXPECT_EQ(*x, 70);
}

TEST_F(Router, RandomReachesEveryRouteeAndIsReproducibleWithASeed) {
  auto opts = how(ta::routing::random);
  opts.seed = 42;
  auto r1 = make(opts);
  for (int i = 0; i < 300; ++i)
    caf::anon_send(r1, i);
  ctx.run();
  auto first = *log;
  for (auto& kvp : counts())
    EXPECT_GT(kvp.second, 50) << kvp.first;
  EXPECT_EQ(counts().size(), 3u);
  log->clear();
  auto r2 = make(opts);
  for (int i = 0; i < 300; ++i)
    caf::anon_send(r2, i);
  ctx.run();
  EXPECT_EQ(*log, first);
}

TEST_F(Router, SmallestMailboxAvoidsTheBusyRoutee) {
  // `a` has five messages queued when the router asks for depths: only
  // the router runs until its questions are out.
  for (int i = 0; i < 5; ++i)
    caf::anon_send(routees[0], 100 + i);
  auto opts = how(ta::routing::smallest_mailbox);
  opts.depth_refresh = 1000;
  auto r = *ta::spawn_router(*ctx.sys, routees, opts);
  ctx.sched->prioritize(r);
  ctx.sched->run_once();
  ctx.run();
  ASSERT_EQ(log->size(), 5u);
  log->clear();
  for (int i = 0; i < 4; ++i)
    caf::anon_send(r, i);
  ctx.run();
  std::map<std::string, std::vector<int>> expected{{"b", {0, 2}},
                                                   {"c", {1, 3}}};
  EXPECT_EQ(by_routee(), expected);
  // The router counts what it sent since it asked: after six more, b and
  // c are at five too, and the seventh goes to a.
  for (int i = 4; i < 12; ++i)
    caf::anon_send(r, i);
  ctx.run();
  EXPECT_EQ(by_routee()["a"], std::vector<int>{10});
}

TEST_F(Router, ConsistentHashKeepsAKeyOnOneRouteeAndMovesOnlyTheLostOnes) {
  auto opts = how(ta::routing::consistent_hash);
  opts.key = [](const caf::message& msg) -> std::optional<std::string> {
    if (msg.match_element<std::string>(0))
      return msg.get_as<std::string>(0);
    return std::nullopt;
  };
  auto r = make(opts);
  std::map<std::string, std::string> owner;
  for (int round = 0; round < 3; ++round)
    for (int k = 0; k < 30; ++k) {
      log->clear();
      caf::anon_send(r, "key-" + std::to_string(k), k);
      ctx.run();
      ASSERT_EQ(log->size(), 1u);
      auto key = "key-" + std::to_string(k);
      if (round == 0)
        owner[key] = log->front().first;
      else
        EXPECT_EQ(log->front().first, owner[key]) << key;
    }
  std::set<std::string> used;
  for (auto& kvp : owner)
    used.insert(kvp.second);
  EXPECT_EQ(used.size(), 3u);
  // b leaves: only b's keys move.
  caf::anon_send(r, ta::remove_routee_atom::value, routees[1]);
  ctx.run();
  for (int k = 0; k < 30; ++k) {
    auto key = "key-" + std::to_string(k);
    log->clear();
    caf::anon_send(r, key, k);
    ctx.run();
    ASSERT_EQ(log->size(), 1u);
    if (owner[key] == "b")
      EXPECT_NE(log->front().first, "b");
    else
      EXPECT_EQ(log->front().first, owner[key]) << key;
  }
  // A message without a key is refused.
  auto refused = ask<int>(r, 5);
  ASSERT_FALSE(refused);
  EXPECT_NE(troupe::describe(refused.error()).find("no key"),
            std::string::npos);
}

TEST_F(Router, ConsistentHashWithoutAKeyFunctionIsRefused) {
  auto r = ta::spawn_router(*ctx.sys, routees,
                            how(ta::routing::consistent_hash));
  ASSERT_FALSE(r);
  EXPECT_NE(troupe::describe(r.error()).find("key function"),
            std::string::npos);
}

TEST_F(Router, BroadcastReachesEveryRouteeAndARequestIsAnsweredOnce) {
  auto r = make(how(ta::routing::broadcast));
  caf::anon_send(r, 1);
  ctx.run();
  EXPECT_EQ(counts(), (std::map<std::string, int>{{"a", 1}, {"b", 1},
                                                  {"c", 1}}));
  auto x = ask<int>(r, 2);
  ASSERT_TRUE(x);
  EXPECT_EQ(*x, 20);
  EXPECT_EQ(log->size(), 6u);
  // No second answer is waiting.
  bool extra = false;
  self->receive([&](int) { extra = true; },
                caf::after(std::chrono::milliseconds{0}) >> [] {});
  EXPECT_FALSE(extra);
}

TEST_F(Router, DeadRouteesAreDroppedAndAnEmptyRouterRefusesRequests) {
  auto r = make(how(ta::routing::round_robin));
  for (auto& x : routees)
    caf::anon_send_exit(x, caf::exit_reason::kill);
  ctx.run();
  auto left = ask<std::vector<caf::actor>>(r, ta::get_routees_atom::value);
  ASSERT_TRUE(left);
  EXPECT_TRUE(left->empty());
  auto x = ask<int>(r, 1);
  ASSERT_FALSE(x);
  EXPECT_EQ(x.error().code(),
            static_cast<uint8_t>(troupe::errc::name_not_found));
  auto fresh = troupe::spawn(*ctx.sys, routee, std::string{"d"}, log);
  caf::anon_send(r, ta::add_routee_atom::value, fresh);
  ctx.run();
  auto y = ask<int>(r, 3);
  ASSERT_TRUE(y);
  EXPECT_EQ(*y, 30);
}
