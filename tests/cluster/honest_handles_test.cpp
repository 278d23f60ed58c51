// SPDX-License-Identifier: Apache-2.0
// Every handle a node hands out for another node's actor fails fast: three
// members on 127.0.0.1 (n1 the seed, n2 holding the cluster name "w") and
// this process as the client. Requests through the handles of
// `whereis_global`, `spawn_on` and `ref` wait on n2 when it is frozen
// (SIGSTOP); each must fail with `node_down` once n2 is marked down, not
// wait for its 30 s timeout, and a monitor on such a handle must fire.
// Stock CAF handles (the name events' own) would wait.
#include <csignal>
#include <optional>
#include <string>

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

TEST(HonestHandles, EveryRemoteHandleANodeHandsOutFailsFastWhenItsNodeIsLost) {
  child_process n1{member_args("n1", "")};
  auto seed = "127.0.0.1:" + troupe::test::ready_port(n1);
  auto n2_args = member_args("n2", seed);
  n2_args.emplace_back("local=w");
  child_process n2{n2_args};
  ASSERT_TRUE(n2.wait_for_line("READY")) << n2.output();
  troupe::node_config cfg;
  cfg.name = "zz-client";
  cfg.seeds = {seed};
  cfg.log = troupe::log_level::warn;
  troupe::node client{cfg};
  troupe::test::add_echo_types(client);
  ASSERT_FALSE(client.start());
  ASSERT_TRUE(n2.wait_for_line("CLUSTER up=3")) << n2.output();
  caf::scoped_actor events{client.system()};
  client.subscribe_members(events);
  ASSERT_TRUE(await_status(events, "n2", troupe::member_status::up, 10s))
    << "the client never saw n2 up";
  caf::scoped_actor names{client.system()};
  client.subscribe_names(names);
  // Name events carry CAF's own handle, as any handle inside a message.
  caf::actor raw;
  for (int i = 0; i < 100 && !raw; ++i)
    names->receive(
      [&](const troupe::name_event& e) {
        if (e.name == "w")
          raw = e.holder;
      },
      caf::after(10s) >> [] {});
  ASSERT_TRUE(raw) << "no name event for 'w'";

  // -- the handles, each of an actor on n2 -------------------------------------
  auto by_name = client.whereis_global("w");
  auto spawned = client.spawn_on("n2", "echo");
  ASSERT_TRUE(spawned) << troupe::describe(spawned.error());
  auto n2_node = by_name.node();
  ASSERT_NE(n2_node, client.system().node());
  // They keep the remote actor's address: the same actor compares equal.
  EXPECT_EQ(spawned->node(), n2_node);
  EXPECT_EQ(client.whereis_global("w"), by_name);
  EXPECT_EQ(by_name, raw);
  EXPECT_EQ(client.ref(raw), raw);
  caf::scoped_actor self{client.system()};
  troupe_test::Ping ping;
  ping.set_seq(1);
  std::string from;
  self->request(by_name, 5s, ping)
    .receive([&](const troupe_test::Pong& x) { from = x.from(); },
             [&](caf::error& err) { ADD_FAILURE() << troupe::describe(err); });
  EXPECT_EQ(from, "n2");
  caf::scoped_actor watcher{client.system()};
  watcher->monitor(*spawned);

  // -- n2 frozen: requests pending on it ---------------------------------------
  std::vector<std::pair<std::string, caf::actor>> handles{
    {"whereis_global", by_name},
    {"spawn_on", *spawned},
    {"ref", client.ref(raw)}};
  std::vector<std::unique_ptr<caf::scoped_actor>> askers;
  using pending_t = decltype(self->request(by_name, 30s, troupe_test::Hold{}));
  std::vector<std::optional<pending_t>> pending;
  for (auto& h : handles) {
    askers.emplace_back(std::make_unique<caf::scoped_actor>(client.system()));
    pending.emplace_back((*askers.back())->request(h.second, 30s,
                                                   troupe_test::Hold{}));
  }
  auto frozen = steady::now();
  n2.signal(SIGSTOP);
  ASSERT_TRUE(await_status(events, "n2", troupe::member_status::down, 10s))
    << "n2 never marked down";
  auto marked = steady::now();
  for (size_t i = 0; i < handles.size(); ++i) {
    pending[i]->receive(
      [&](const troupe_test::Pong&) {
        ADD_FAILURE() << handles[i].first << ": a Hold was answered";
      },
      [&](caf::error& err) {
        EXPECT_TRUE(troupe::is(err, troupe::errc::node_down))
          << handles[i].first << ": " << troupe::describe(err);
      });
  }
  EXPECT_LT(steady::now() - marked, 2s)
    << "the pending requests did not fail when n2 was marked down";
  bool down_seen = false;
  watcher->receive([&](const caf::down_msg& dm) {
    down_seen = dm.source == spawned->address();
  }, caf::after(10s) >> [] {});
  EXPECT_TRUE(down_seen) << "no down message for the monitored handle";
  EXPECT_LT(steady::now() - frozen, 15s);
  // A request to a node already down fails at once.
  self->request(by_name, 30s, ping)
    .receive([](const troupe_test::Pong&) { ADD_FAILURE() << "answered"; },
             [&](caf::error& err) {
               EXPECT_TRUE(troupe::is(err, troupe::errc::node_down))
                 << troupe::describe(err);
             });
  n2.signal(SIGCONT);
}
