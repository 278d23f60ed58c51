// SPDX-License-Identifier: Apache-2.0
// The cluster-wide topic: two nodes in this process (subscribe,
// unsubscribe, order), then three member processes where a subscriber
// node is killed and dropped while publishing goes on in order.
#include <csignal>
#include <map>
#include <memory>
#include <string>

#include <caf/after.hpp>
#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>

#include "cluster/node_configs.hpp"
#include "cluster/name_events.hpp"
#include "cluster_fixture.hpp"
#include "troupe/actors/topic.hpp"
#include "troupe/error.hpp"
#include "troupe/wire/proto.hpp"
#include "troupe_actors_test/numbers.pb.h"

using namespace std::chrono_literals;
using troupe_actors_test::Note;
namespace ta = troupe::actors;

namespace {

troupe::node_config config(std::string name) {
  return troupe::test::named_config(std::move(name), troupe::log_level::error);
}

Note note(const std::string& publisher, uint64_t seq) {
  Note x;
  x.set_publisher(publisher);
  x.set_seq(seq);
  return x;
}

/// Receives `n` Notes (the timeout is a safety net) and returns their seqs.
std::vector<uint64_t> receive_notes(caf::scoped_actor& self, size_t n) {
  std::vector<uint64_t> seqs;
  bool timed_out = false;
  while (seqs.size() < n && !timed_out)
    self->receive([&](const Note& x) { seqs.push_back(x.seq()); },
                  caf::after(5s) >> [&] { timed_out = true; });
  return seqs;
}

/// Waits until `n`'s table has the topic end of `node`, and `n`'s mediator
/// has learned it too.
bool await_peer(caf::scoped_actor& names, troupe::node& n,
                const std::string& node) {
  auto held = [](const caf::actor& hdl) { return static_cast<bool>(hdl); };
  if (!troupe::test::await_holder(names, n, "troupe.topic/news@" + node,
                                  held))
    return false;
  // The daemon tells its name subscribers one after the other: `names` may
  // hear of the name before the mediator does. A subscriber added now gets
  // its first events only after the daemon finished telling everybody.
  caf::scoped_actor late{n.system()};
  n.subscribe_names(late);
  bool told = true;
  late->receive([](const troupe::name_event&) {},
                caf::after(5s) >> [&] { told = false; });
  return told;
}

std::vector<uint64_t> iota(uint64_t from, uint64_t to) {
  std::vector<uint64_t> result;
  for (auto i = from; i < to; ++i)
    result.push_back(i);
  return result;
}

} // namespace

TEST(Topic, SubscribersOnAnotherNodeGetEveryMessageInOrderUntilTheyLeave) {
  troupe::node a{config("a")};
  a.add_message_type<Note>();
  ASSERT_FALSE(a.start());
  auto cfg = config("b");
  cfg.seeds = {"127.0.0.1:" + std::to_string(a.port())};
  troupe::node b{cfg};
  b.add_message_type<Note>();
  ASSERT_FALSE(b.start());
  caf::scoped_actor names{a.system()};
  a.subscribe_names(names);
  ta::topic on_a{a, "news"};
  ta::topic on_b{b, "news"};
  ASSERT_TRUE(await_peer(names, a, "b"));
  caf::scoped_actor s1{b.system()};
  caf::scoped_actor s2{b.system()};
  caf::scoped_actor local{a.system()};
  on_b.subscribe(s1);
  on_b.subscribe(s2);
  on_a.subscribe(local);
  for (uint64_t i = 0; i < 200; ++i)
    on_a.publish(note("a", i));
  EXPECT_EQ(receive_notes(s1, 200), iota(0, 200));
  EXPECT_EQ(receive_notes(s2, 200), iota(0, 200));
  EXPECT_EQ(receive_notes(local, 200), iota(0, 200));
  // b's end told a how many subscribe there when they subscribed. Those
  // counts travel b -> a; an answer from b's mediator to a request from a
  // travels the same connection after them, so once it is here, a's
  // mediator has the counts in its mailbox.
  {
    caf::scoped_actor q{a.system()};
    q->request(a.whereis_global("troupe.topic/news@b"), 5s,
               ta::topic_subscribers_atom::value)
      .receive([](std::map<std::string, uint64_t>&) {},
               [](caf::error& err) {
                 // Any answer will do (the map is not a type CAF sends
                 // between nodes, so it may come as an error): it came
                 // after the counts.
                 EXPECT_NE(err, caf::sec::request_timeout);
               });
  }
  auto subs = on_a.subscribers();
  ASSERT_TRUE(subs) << troupe::describe(subs.error());
  EXPECT_EQ(*subs, (std::map<std::string, uint64_t>{{"a", 1}, {"b", 2}}));
  // s1 leaves; the unsubscribe is in b's mailbox before the publish leaves.
  on_b.unsubscribe(s1);
  on_a.publish(note("a", 200));
  EXPECT_EQ(receive_notes(s2, 1), std::vector<uint64_t>{200});
  bool got = false;
  s1->receive([&](const Note&) { got = true; }, caf::after(0s) >> [] {});
  EXPECT_FALSE(got) << "an unsubscribed actor got a message";
}

// Under load this failed in about half the runs until names were held back
// until their node is met (daemon_names.cpp): the client published before
// it met n2, so the first messages took CAF's route through n1 and the
// later ones the direct connection (out of order); and killed before the
// client met it, n2 was never up for the client, so never down either.
TEST(Topic, ASubscriberNodeKilledIsDroppedAndOrderIsKeptForTheOthers) {
  std::vector<std::string> news{"topic=news"};
  troupe::test::three_nodes nodes{{news, news, news}};
  troupe::node client{troupe::test::client_config(nodes.seed)};
  client.add_message_type<Note>();
  ASSERT_FALSE(client.start());
  caf::scoped_actor events{client.system()};
  ta::topic topic{client, "news"}; // subscribes to member events first
  client.subscribe_members(events);
  caf::scoped_actor names{client.system()};
  client.subscribe_names(names);
  for (auto node : {"n1", "n2", "n3"})
    ASSERT_TRUE(await_peer(names, client, node)) << nodes.output();
  for (uint64_t i = 0; i < 100; ++i)
    topic.publish(note("zz-client", i));
  for (size_t k = 0; k < 3; ++k)
    ASSERT_TRUE(nodes[k].wait_for_line("GOT zz-client 99")) << nodes.output();
  for (size_t k = 0; k < 3; ++k) {
    std::vector<uint64_t> seqs;
    for (auto& line : nodes[k].lines())
      if (line.rfind("GOT zz-client ", 0) == 0)
        seqs.push_back(std::stoull(line.substr(14)));
    EXPECT_EQ(seqs, iota(0, 100)) << "on n" << k + 1;
  }
  auto before = topic.subscribers();
  ASSERT_TRUE(before) << troupe::describe(before.error());
  EXPECT_EQ(before->count("n2"), 1u);
  // n2 dies; its member event reaches the topic's end before ours.
  nodes[1].signal(SIGKILL);
  bool down = false;
  for (int i = 0; i < 100 && !down; ++i)
    events->receive(
      [&](const troupe::member_event& ev) {
        down = ev.member.name == "n2"
               && ev.member.status == troupe::member_status::down;
      },
      caf::after(10s) >> [&] { i = 100; });
  ASSERT_TRUE(down) << "n2 was never marked down" << nodes.output();
  auto subs = topic.subscribers();
  ASSERT_TRUE(subs) << troupe::describe(subs.error());
  EXPECT_EQ(subs->count("n2"), 0u);
  EXPECT_EQ(subs->count("n1"), 1u);
  EXPECT_EQ(subs->count("n3"), 1u);
  for (uint64_t i = 100; i < 200; ++i)
    topic.publish(note("zz-client", i));
  for (size_t k : {0u, 2u}) {
    ASSERT_TRUE(nodes[k].wait_for_line("GOT zz-client 199")) << nodes.output();
    std::vector<uint64_t> seqs;
    for (auto& line : nodes[k].lines())
      if (line.rfind("GOT zz-client ", 0) == 0)
        seqs.push_back(std::stoull(line.substr(14)));
    EXPECT_EQ(seqs, iota(0, 200)) << "on n" << k + 1;
  }
}
