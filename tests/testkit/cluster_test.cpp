// SPDX-License-Identifier: Apache-2.0
// troupe::testkit::cluster: nodes in one process that see each other, a
// killed node seen down, a stopped one seen left, a partition seen from both
// sides and healed, one memory journal shared by the nodes.
#include "troupe/testkit/cluster.hpp"

#include <algorithm>
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "runtime/persistence/counter_actor.hpp"
#include "troupe/actor/ask.hpp"
#include "troupe/error.hpp"
#include "troupe/persistence/memory_journal.hpp"
#include "troupe/wire/proto.hpp"
#include "troupe_test/test.pb.h"

using namespace std::chrono_literals;
using troupe::member_status;
using troupe::testkit::cluster;
using troupe::testkit::cluster_options;

namespace {

struct echo_state {
  static inline const char* name = "echo";
};

caf::behavior echo(troupe::stateful_actor<echo_state>* self,
                   std::string node_name) {
  return {
    [node_name](const troupe_test::Ping& x) {
      troupe_test::Pong reply;
      reply.set_seq(x.seq());
      reply.set_from(node_name);
      return reply;
    },
  };
}

cluster_options with_test_types() {
  cluster_options opts;
  opts.prepare = [](troupe::node& n) {
    n.add_message_type<troupe_test::Ping>()
      .add_message_type<troupe_test::Pong>();
  };
  return opts;
}

} // namespace

TEST(TestkitCluster, StartsNodesThatSeeEachOtherAndTalk) {
  cluster c{with_test_types()};
  auto err = c.start(3);
  ASSERT_FALSE(err) << troupe::describe(err);
  ASSERT_EQ(c.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(c[i].name(), "n" + std::to_string(i + 1));
    auto ms = c[i].members();
    EXPECT_EQ(std::count_if(ms.begin(), ms.end(),
                            [](auto& m) {
                              return m.status == member_status::up;
                            }),
              3);
  }
  auto e = c[2].spawn(echo, c[2].name());
  ASSERT_FALSE(c[2].register_name("echo", e));
  auto far = c[0].lookup("127.0.0.1", c[2].port(), "echo");
  ASSERT_TRUE(far) << troupe::describe(far.error());
  troupe_test::Ping p;
  p.set_seq(7);
  auto pong = troupe::ask<troupe_test::Pong>(c[0].system(), *far, 5s, p);
  ASSERT_TRUE(pong) << troupe::describe(pong.error());
  EXPECT_EQ(pong->seq(), 7u);
  EXPECT_EQ(pong->from(), "n3");
}

TEST(TestkitCluster, AKilledNodeIsSeenDownByTheOthersNotLeft) {
  cluster c;
  ASSERT_FALSE(c.start(3));
  c.kill(2);
  for (size_t i : {0, 1}) {
    auto m = c.await_member(i, 2, member_status::down);
    ASSERT_TRUE(m) << "n" << i + 1 << " does not see n3 down; last seen: "
                   << (c.view(i, "n3") ? to_string(c.view(i, "n3")->status)
                                       : "nothing");
  }
  // A leave would have made it `left` first (and `left` stays).
  EXPECT_EQ(c.view(0, "n3")->status, member_status::down);
  EXPECT_FALSE(c.running(2));
  EXPECT_TRUE(c.await_converged()); // the other two carry on
  EXPECT_EQ(c[0].cluster_statistics().fenced, 0u);
}

TEST(TestkitCluster, AStoppedSeedIsSeenLeftAndANewNodeJoinsThroughAnother) {
  cluster c;
  ASSERT_FALSE(c.start(3));
  c.stop(0);
  EXPECT_TRUE(c.await_member(1, 0, member_status::left));
  EXPECT_TRUE(c.await_member(2, 0, member_status::left));
  auto idx = c.add_node(); // seeded by n2, the first one running
  ASSERT_TRUE(idx) << troupe::describe(idx.error());
  EXPECT_EQ(*idx, 3u);
  EXPECT_EQ(c[3].name(), "n4");
  EXPECT_TRUE(c.await_member(1, 3, member_status::up));
  EXPECT_TRUE(c.await_member(2, 3, member_status::up));
}

TEST(TestkitCluster, APartitionMakesEachSideSeeTheOtherDownAndAHealJoinsThem) {
  cluster c;
  ASSERT_FALSE(c.start(3));
  auto before = c[2].incarnation();
  c.partition({0, 1}, {2});
  // Each side marks the other down (unreachable: no leave, no fresh drop).
  EXPECT_TRUE(c.await_member(0, 2, member_status::down));
  EXPECT_TRUE(c.await_member(1, 2, member_status::down));
  EXPECT_TRUE(c.await_member(2, 0, member_status::down));
  EXPECT_TRUE(c.await_member(2, 1, member_status::down));
  // The majority stays up together; the cut stays while it lasts.
  EXPECT_EQ(c.view(0, "n2")->status, member_status::up);
  EXPECT_EQ(c.view(1, "n1")->status, member_status::up);
  c.heal();
  // n3 was the minority: it fenced itself and is back as a new
  // incarnation, which the others see up.
  ASSERT_TRUE(c.await_converged());
  EXPECT_NE(c[2].incarnation(), before);
  EXPECT_GE(c[2].cluster_statistics().fenced, 1u);
  EXPECT_EQ(c.view(0, "n3")->incarnation, c[2].incarnation());
  EXPECT_EQ(c.view(1, "n3")->status, member_status::up);
}

TEST(TestkitCluster, NodesShareOneMemoryJournal) {
  auto opts = with_test_types();
  opts.memory_journal = true;
  cluster c{opts};
  ASSERT_FALSE(c.start(2));
  ASSERT_TRUE(c.journal_store());
  ASSERT_TRUE(c[0].journal());
  EXPECT_STREQ(c[0].journal()->kind(), "memory");
  using troupe::test::add_atom;
  auto a = c[0].spawn(troupe::test::counter, std::string{"shared"},
                      troupe::persistence::snapshot_policy{});
  auto x = troupe::ask<int64_t>(c[0].system(), a, 5s, add_atom::value,
                                int64_t{40});
  ASSERT_TRUE(x) << troupe::describe(x.error());
  EXPECT_EQ(*x, 40);
  EXPECT_EQ(c.journal_store()->event_count("counter|shared"), 1u);
  // The same persistent actor on the other node recovers what n1 stored.
  auto b = c[1].spawn(troupe::test::counter, std::string{"shared"},
                      troupe::persistence::snapshot_policy{});
  auto y = troupe::ask<int64_t>(c[1].system(), b, 5s, add_atom::value,
                                int64_t{2});
  ASSERT_TRUE(y) << troupe::describe(y.error());
  EXPECT_EQ(*y, 42);
}
