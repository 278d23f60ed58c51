// SPDX-License-Identifier: Apache-2.0
// The cluster API: the same test body on one node and across three member
// processes (location transparency), cluster-wide name conflicts, graceful
// leave, and refusing a joiner whose failure detector would drop links.
#include <string>
#include <thread>
#include <vector>

#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>

#include "node_configs.hpp"
#include "child_process.hpp"
#include "echo_actor.hpp"
#include "member_events.hpp"
#include "name_events.hpp"
#include "troupe/error.hpp"
#include "troupe/node/node.hpp"
#include "troupe/supervision/supervisor.hpp"
#include "troupe/wire/introspect.pb.h"

using namespace std::chrono_literals;
using troupe::test::child_process;
using troupe::test::program;

namespace {

troupe::node_config config(std::string name) {
  return troupe::test::named_config(std::move(name));
}

bool has_error(const caf::error& err, troupe::errc code) {
  return err.category() == troupe::error_category
         && err.code() == static_cast<uint8_t>(code);
}

/// The body that must behave the same wherever the actors run: spawns an
/// echo on each of `hosts`, names it cluster-wide, talks to it through the
/// name, makes it fail, and sees the name go.
void location_transparent_body(troupe::node& client,
                               const std::vector<std::string>& hosts) {
  caf::scoped_actor self{client.system()};
  caf::scoped_actor names{client.system()};
  client.subscribe_names(names);
  for (size_t i = 0; i < hosts.size(); ++i) {
    SCOPED_TRACE(hosts[i]);
    auto name = "echo-" + std::to_string(i);
    auto hdl = client.spawn_on(hosts[i], "echo");
    ASSERT_TRUE(hdl) << troupe::describe(hdl.error());
    ASSERT_FALSE(client.register_global(name, *hdl));
    auto err = client.register_global(name, client.system().spawn(
                                              troupe::test::echo, "x"));
    EXPECT_TRUE(has_error(err, troupe::errc::name_taken))
      << troupe::describe(err);
    auto ref = client.global_ref(name);
    troupe_test::Ping ping;
    ping.set_seq(i);
    self->request(ref, 5s, ping)
      .receive(
        [&](const troupe_test::Pong& pong) {
          EXPECT_EQ(pong.seq(), i);
          EXPECT_EQ(pong.from(), hosts[i]);
        },
        [&](caf::error& err) { ADD_FAILURE() << troupe::describe(err); });
    troupe_test::Boom boom;
    boom.set_why("on purpose");
    self->request(ref, 5s, boom)
      .receive([&](const troupe_test::Pong&) { ADD_FAILURE() << "no throw"; },
               [&](caf::error& err) {
                 EXPECT_TRUE(has_error(err, troupe::errc::handler_failed))
                   << troupe::describe(err);
               });
    // Unsupervised, the actor ended with the failure; its name goes with
    // it (the drop reaches the client's table through its node).
    EXPECT_TRUE(troupe::test::await_holder(
      names, client, name, [](const caf::actor& hdl) { return !hdl; }));
    self->request(ref, 5s, ping)
      .receive([&](const troupe_test::Pong&) { ADD_FAILURE() << "answered"; },
               [&](caf::error& err) {
                 EXPECT_TRUE(has_error(err, troupe::errc::name_not_found))
                   << troupe::describe(err);
               });
  }
}

caf::actor spawn_echo(troupe::node& n) {
  return troupe::spawn(n.system(), troupe::test::echo, n.name());
}

} // namespace

TEST(Cluster, SameBodyOnOneNode) {
  troupe::node solo{config("solo")};
  troupe::test::add_echo_host(solo);
  ASSERT_FALSE(solo.start());
  location_transparent_body(solo, {"solo", "solo", "solo"});
}

TEST(Cluster, ANodeWithOneThreadPlacesASupervisedChild) {
  // The supervisor's start function waits for the daemon's answer inside
  // the only worker: the daemon runs on a thread of its own, so the child
  // is placed at once (it took the wait's full 5 s timeout, three times,
  // and then failed, while the daemon ran on the workers).
  auto cfg = config("one");
  cfg.threads = 1;
  troupe::node n{cfg};
  troupe::test::add_echo_host(n);
  ASSERT_FALSE(n.start());
  auto sup = troupe::spawn_supervisor(
    n.system(), troupe::supervisor_flags{},
    {n.remote_child("w", "echo", "w", troupe::placement::local)});
  caf::scoped_actor self{n.system()};
  caf::scoped_actor names{n.system()};
  n.subscribe_names(names);
  auto held = [](const caf::actor& hdl) { return static_cast<bool>(hdl); };
  ASSERT_TRUE(troupe::test::await_holder(names, n, "w", held, 3s));
  troupe_test::Ping ping;
  ping.set_seq(1);
  bool answered = false;
  self->request(n.global_ref("w"), 3s, ping)
    .receive([&](const troupe_test::Pong& pong) { answered = pong.seq() == 1; },
             [](caf::error&) {});
  EXPECT_TRUE(answered);
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
}

/// Which node's echo answers `name` (empty when none does within 3 s).
static std::string answering_node(troupe::node& n, const std::string& name) {
  caf::scoped_actor self{n.system()};
  std::string from;
  self->request(n.global_ref(name), 3s, troupe_test::Ping{})
    .receive([&](const troupe_test::Pong& pong) { from = pong.from(); },
             [](caf::error&) {});
  return from;
}

TEST(Cluster, ARestartedRemoteChildStaysOnItsNode) {
  // Round robin takes the members by name: the first start goes to "aa",
  // the supervisor's own node "zz" would be next. A crash is the child's
  // own fault, not its node's: the restart goes back to "aa" (OTP restarts
  // in place), where a node-local journal has its events.
  troupe::node zz{config("zz")};
  troupe::test::add_echo_host(zz);
  ASSERT_FALSE(zz.start());
  caf::scoped_actor events{zz.system()};
  zz.subscribe_members(events);
  auto cfg = config("aa");
  cfg.seeds = {"127.0.0.1:" + std::to_string(zz.port())};
  troupe::node aa{cfg};
  troupe::test::add_echo_host(aa);
  ASSERT_FALSE(aa.start());
  ASSERT_TRUE(troupe::test::await_status(events, "aa",
                                         troupe::member_status::up, 5s));
  auto sup = troupe::spawn_supervisor(
    zz.system(), troupe::supervisor_flags{},
    {zz.remote_child("w", "echo", "w", troupe::placement::round_robin)});
  caf::scoped_actor names{zz.system()};
  zz.subscribe_names(names);
  auto held = [](const caf::actor& hdl) { return static_cast<bool>(hdl); };
  ASSERT_TRUE(troupe::test::await_holder(names, zz, "w", held, 3s));
  ASSERT_EQ(answering_node(zz, "w"), "aa");
  for (int crash = 1; crash <= 2; ++crash) {
    SCOPED_TRACE(crash);
    auto before = zz.whereis_global("w");
    troupe_test::Boom boom;
    boom.set_why("injected");
    caf::anon_send(zz.global_ref("w"), boom);
    auto renewed = [&](const caf::actor& hdl) { return hdl && hdl != before; };
    ASSERT_TRUE(troupe::test::await_holder(names, zz, "w", renewed, 5s));
    EXPECT_EQ(answering_node(zz, "w"), "aa");
  }
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
}

TEST(Cluster, SameBodyAcrossThreeNodes) {
  child_process n1{{program("troupe_cluster_node"), "--name", "n1", "--port",
                    "0"}};
  auto ready = n1.wait_for_line("READY");
  ASSERT_TRUE(ready) << n1.output();
  auto seed = "127.0.0.1:" + ready->substr(ready->find("port=") + 5);
  seed = seed.substr(0, seed.find(' '));
  child_process n2{{program("troupe_cluster_node"), "--name", "n2", "--port",
                    "0", "--seeds", seed}};
  child_process n3{{program("troupe_cluster_node"), "--name", "n3", "--port",
                    "0", "--seeds", seed}};
  auto cfg = config("zz-client");
  cfg.seeds = {seed};
  troupe::node client{cfg};
  troupe::test::add_echo_types(client);
  ASSERT_FALSE(client.start());
  for (auto* p : {&n1, &n2, &n3})
    ASSERT_TRUE(p->wait_for_line("CLUSTER up=4")) << p->output();
  location_transparent_body(client, {"n1", "n2", "n3"});
}

TEST(Cluster, ConflictingRegistrationsResolveTheSameEverywhere) {
  // Two nodes that do not know each other yet (as two sides of a
  // partition) give one name to two actors; when they meet, the later
  // registration wins on both, and the loser is stopped.
  troupe::node a{config("a")};
  troupe::node b{config("b")};
  troupe::test::add_echo_types(a);
  troupe::test::add_echo_types(b);
  ASSERT_FALSE(a.start());
  ASSERT_FALSE(b.start());
  auto first = spawn_echo(a);
  ASSERT_FALSE(a.register_global("dup", first));
  auto second = spawn_echo(b);
  ASSERT_FALSE(b.register_global("dup", second));
  caf::scoped_actor self{a.system()};
  caf::scoped_actor names{a.system()};
  a.subscribe_names(names);
  self->monitor(first);
  ASSERT_TRUE(b.join("127.0.0.1:" + std::to_string(a.port())));
  self->receive(
    [&](const caf::down_msg& dm) {
      EXPECT_TRUE(has_error(dm.reason, troupe::errc::name_conflict))
        << troupe::describe(dm.reason);
    },
    caf::after(10s) >> [] { ADD_FAILURE() << "the loser was not stopped"; });
  EXPECT_EQ(b.whereis_global("dup"), second);
  // `a` learns the winner from the same exchange.
  EXPECT_TRUE(troupe::test::await_holder(
    names, a, "dup", [&](const caf::actor& hdl) { return hdl == second; }));
}

TEST(Cluster, GracefulLeaveIsNotAFailure) {
  troupe::node a{config("a")};
  troupe::test::add_echo_types(a);
  ASSERT_FALSE(a.start());
  auto cfg = config("b");
  cfg.seeds = {"127.0.0.1:" + std::to_string(a.port())};
  troupe::node b{cfg};
  troupe::test::add_echo_types(b);
  ASSERT_FALSE(b.start());
  ASSERT_FALSE(b.register_global("held-by-b", spawn_echo(b)));
  caf::scoped_actor events{a.system()};
  a.subscribe_members(events);
  bool left = false;
  b.leave();
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!left && std::chrono::steady_clock::now() < deadline)
    events->receive(
      [&](const troupe::member_event& ev) {
        if (ev.member.name == "b") {
          EXPECT_NE(ev.member.status, troupe::member_status::down);
          left = ev.member.status == troupe::member_status::left;
        }
      },
      caf::after(1s) >> [] {});
  EXPECT_TRUE(left);
  EXPECT_FALSE(a.whereis_global("held-by-b"));
}

TEST(Cluster, RefusesAJoinerWhoseHeartbeatsAreTooSlow) {
  troupe::node a{config("a")};
  ASSERT_FALSE(a.start());
  auto cfg = config("slow");
  cfg.seeds = {"127.0.0.1:" + std::to_string(a.port())};
  // Heartbeats every second would let `a` (1.6 s timeout) drop a healthy
  // idle link.
  cfg.failure_detector.heartbeat_interval = 1000ms;
  cfg.failure_detector.failure_timeout = 5000ms;
  troupe::node slow{cfg};
  ASSERT_FALSE(slow.start());
  EXPECT_EQ(slow.members().size(), 1u);
  EXPECT_EQ(a.members().size(), 1u);
}

TEST(Introspection, KillIsRefusedWithoutTheClusterSecret) {
  auto cfg = config("guarded");
  cfg.secret = "s3cret";
  troupe::node n{cfg};
  n.add_message_type<troupe::wire::KillRequest>()
    .add_message_type<troupe::wire::KillReply>();
  ASSERT_FALSE(n.start());
  troupe::supervisor_flags flags;
  troupe::child_spec spec;
  spec.id = "w";
  spec.start = [](caf::actor_system& sys) {
    return troupe::spawn(sys, troupe::test::echo, std::string{"guarded"});
  };
  n.start_root(flags, {spec});
  auto svc = n.lookup("127.0.0.1", n.port(), "troupe.introspect");
  ASSERT_TRUE(svc) << troupe::describe(svc.error());
  caf::scoped_actor self{n.system()};
  auto ask = [&](const std::string& secret) {
    troupe::wire::KillRequest req;
    req.set_path("/root/w");
    req.set_secret(secret);
    caf::error result;
    self->request(*svc, 5s, req)
      .receive([](const troupe::wire::KillReply&) {},
               [&](caf::error& err) { result = std::move(err); });
    return result;
  };
  auto refused = ask("");
  EXPECT_TRUE(refused);
  EXPECT_NE(troupe::describe(refused).find("requires a secret"),
            std::string::npos)
    << troupe::describe(refused);
  EXPECT_TRUE(ask("wrong"));
  EXPECT_FALSE(ask("s3cret"));
}

TEST(Introspection, AnythingButItsRequestsIsAnsweredWithAnError) {
  troupe::node n{config("asked")};
  ASSERT_FALSE(n.start());
  auto svc = n.lookup("127.0.0.1", n.port(), "troupe.introspect");
  ASSERT_TRUE(svc) << troupe::describe(svc.error());
  caf::scoped_actor self{n.system()};
  caf::error result;
  // CAF's default would print the message on stdout and answer
  // unexpected_message.
  self->request(*svc, 5s, std::string{"what are you?"}, 42)
    .receive([] { ADD_FAILURE() << "answered"; },
             [&](caf::error& err) { result = std::move(err); });
  EXPECT_EQ(result.category(), troupe::error_category);
  EXPECT_NE(troupe::describe(result).find("takes a SnapshotRequest"),
            std::string::npos)
    << troupe::describe(result);
}
