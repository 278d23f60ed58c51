// SPDX-License-Identifier: Apache-2.0
// A node frozen (SIGSTOP) until the cluster marks it down fences itself
// when it resumes and rejoins as a new incarnation of the same process: its
// own actors live on, under the same ids, and must be reachable again by
// their cluster names. Found by the chaos harness (seed 23): after such a
// rejoin no request of the bank's client was ever answered again.
#include <csignal>
#include <optional>
#include <string>

#include <caf/after.hpp>
#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>

#include "child_process.hpp"
#include "member_events.hpp"
#include "echo_actor.hpp"
#include "name_events.hpp"
#include "troupe/error.hpp"
#include "troupe/node/node.hpp"

using namespace std::chrono_literals;
using troupe::test::await_status;
using troupe::test::child_process;
using troupe::test::member_args;
using steady = std::chrono::steady_clock;

namespace {

caf::expected<troupe_test::Pong> ping(caf::scoped_actor& self,
                                      const caf::actor& hdl) {
  caf::expected<troupe_test::Pong> result{troupe_test::Pong{}};
  troupe_test::Ping req;
  req.set_seq(1);
  self->request(hdl, 3s, req)
    .receive([&](const troupe_test::Pong& x) { result = x; },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

} // namespace

TEST(FencedRejoin, ActorsOfAFrozenNodeAnswerByTheirNamesAfterItRejoins) {
  auto n1_args = member_args("n1", "");
  n1_args.emplace_back("local=here");
  child_process n1{n1_args};
  auto port = troupe::test::ready_port(n1);
  ASSERT_TRUE(n1.wait_for_line("LOCAL here")) << n1.output();
  // This process is the client; its name is the smaller one, so on the tie
  // of a two-member cluster it is n1 that fences itself.
  troupe::node_config cfg;
  cfg.name = "a-client";
  cfg.seeds = {"127.0.0.1:" + port};
  cfg.log = troupe::log_level::error;
  troupe::node client{cfg};
  troupe::test::add_echo_types(client);
  ASSERT_FALSE(client.start());
  caf::scoped_actor events{client.system()};
  client.subscribe_members(events);
  caf::scoped_actor names{client.system()};
  client.subscribe_names(names);
  caf::scoped_actor self{client.system()};
  auto held = [](const caf::actor& hdl) { return static_cast<bool>(hdl); };
  ASSERT_TRUE(troupe::test::await_holder(names, client, "here", held))
    << n1.output();
  auto before = client.whereis_global("here");
  auto pong = ping(self, before);
  ASSERT_TRUE(pong) << troupe::describe(pong.error());
  EXPECT_EQ(pong->from(), "n1");

  // -- frozen until the client marks it down ----------------------------------
  auto n1_lines = n1.line_count();
  n1.signal(SIGSTOP);
  ASSERT_TRUE(n1.wait_stopped());
  auto down = await_status(events, "n1", troupe::member_status::down, 10s);
  ASSERT_TRUE(down) << "n1 never marked down";
  ASSERT_TRUE(troupe::test::await_holder(
    names, client, "here", [](const caf::actor& hdl) { return !hdl; }))
    << "the name of the frozen node's actor was not released";

  // -- resumed: it fences itself and rejoins as a new incarnation -------------
  n1.signal(SIGCONT);
  ASSERT_TRUE(n1.wait_for_line("is fenced", 10s, n1_lines)) << n1.output();
  auto up = await_status(events, "n1", troupe::member_status::up, 10s);
  ASSERT_TRUE(up) << "n1 did not rejoin\n" << n1.output();
  EXPECT_GT(up->incarnation, down->incarnation);
  // Its actor lives on (not hosted for another node): its name comes back
  // with the rejoin, bound to the same actor, and it answers.
  ASSERT_TRUE(troupe::test::await_holder(names, client, "here", held, 10s))
    << "the name never came back after the rejoin\n"
    << n1.output();
  auto after = client.whereis_global("here");
  EXPECT_EQ(after.id(), before.id());
  EXPECT_EQ(after.node(), before.node());
  pong = ping(self, after);
  ASSERT_TRUE(pong) << troupe::describe(pong.error()) << '\n' << n1.output();
  EXPECT_EQ(pong->from(), "n1");
  // The old incarnation's name entry was not taken by mistake: n1 still
  // holds it under its new incarnation, and so a client that asks again
  // later reaches it too.
  auto again = client.whereis_global("here");
  ASSERT_TRUE(again);
  pong = ping(self, again);
  EXPECT_TRUE(pong) << troupe::describe(pong.error());
  n1.signal(SIGKILL);
}

// The other way round: the client is the node that was frozen. One member
// (this process) marks it down; the client fences itself and rejoins as a
// new incarnation of the same CAF node. Found by the chaos harness (run
// cn10): from then on no request of the client to the actors of the member
// that had marked it down was ever answered, though that member listed the
// client as up again.
TEST(FencedRejoin, AFencedClientIsAnsweredAgainAfterItRejoins) {
  troupe::node_config cfg;
  cfg.name = "a-server"; // the smaller name: it carries on, n1 fences
  cfg.log = troupe::log_level::error;
  troupe::node server{cfg};
  troupe::test::add_echo_types(server);
  ASSERT_FALSE(server.start());
  caf::scoped_actor events{server.system()};
  server.subscribe_members(events);
  auto echo = troupe::spawn(server.system(), troupe::test::echo, "a-server");
  server.track(echo);
  ASSERT_FALSE(server.register_global("here", echo));

  auto args = member_args("n1", "127.0.0.1:" + std::to_string(server.port()));
  args.emplace_back("ask=here");
  child_process client{args};
  ASSERT_TRUE(client.wait_for_line("ASK ok from=a-server"))
    << client.output();

  // -- frozen until this member marks it down ---------------------------------
  auto lines = client.line_count();
  client.signal(SIGSTOP);
  ASSERT_TRUE(client.wait_stopped());
  auto down = await_status(events, "n1", troupe::member_status::down, 10s);
  ASSERT_TRUE(down) << "n1 never marked down";

  // -- resumed: it fences itself and rejoins as a new incarnation -------------
  client.signal(SIGCONT);
  ASSERT_TRUE(client.wait_for_line("is fenced", 10s, lines))
    << client.output();
  auto up = await_status(events, "n1", troupe::member_status::up, 10s);
  ASSERT_TRUE(up) << "n1 did not rejoin\n" << client.output();
  EXPECT_GT(up->incarnation, down->incarnation);
  // Its requests are answered again (it asks every 100 ms with a timeout of
  // 1 s; a few may fail while it rejoins).
  auto rejoined = client.line_count();
  EXPECT_TRUE(client.wait_for_line("ASK ok from=a-server", 10s, rejoined))
    << client.output();
  client.signal(SIGKILL);
}
