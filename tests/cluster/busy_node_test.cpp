// SPDX-License-Identifier: Apache-2.0
// Busy handlers on every scheduler thread of a node for longer than the
// failure timeout: failure detection runs on threads of its own, so nobody
// is fenced or marked down.
#include <chrono>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>

#include "node_configs.hpp"
#include "echo_actor.hpp"
#include "troupe/error.hpp"
#include "troupe/node/node.hpp"

using namespace std::chrono_literals;

namespace {

using burn_atom = caf::atom_constant<caf::atom("burn")>;

troupe::node_config config(std::string name) {
  return troupe::test::named_config(std::move(name));
}

/// Computes without yielding its thread for `ms` milliseconds.
caf::behavior burner(caf::event_based_actor*) {
  return {
    [](burn_atom, int ms) {
      auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds{ms};
      volatile uint64_t x = 0;
      while (std::chrono::steady_clock::now() < end)
        x = x + 1;
      return ms;
    },
  };
}

/// Member events `events` holds now, as "name:status" (drained).
std::vector<std::string> drain(caf::scoped_actor& events) {
  std::vector<std::string> seen;
  bool more = true;
  while (more)
    events->receive(
      [&](const troupe::member_event& ev) {
        seen.emplace_back(ev.member.name + ":"
                          + troupe::to_string(ev.member.status));
      },
      caf::after(std::chrono::seconds{0}) >> [&] { more = false; });
  return seen;
}

} // namespace

TEST(BusyNode, HandlersHoldingEverySchedulerThreadFenceNobody) {
  auto ca = config("a");
  ca.threads = 2;
  troupe::node a{ca};
  troupe::test::add_echo_host(a);
  ASSERT_FALSE(a.start());
  auto cb = config("b");
  cb.seeds = {"127.0.0.1:" + std::to_string(a.port())};
  troupe::node b{cb};
  troupe::test::add_echo_host(b);
  ASSERT_FALSE(b.start());
  ASSERT_EQ(b.members().size(), 2u);
  auto a_incarnation = a.incarnation();
  auto b_incarnation = b.incarnation();
  auto timeout = a.config().failure_detector.failure_timeout;
  auto burn_ms = static_cast<int>((timeout + 1000ms).count());
  {
    caf::scoped_actor self{a.system()};
    caf::scoped_actor events_a{a.system()};
    caf::scoped_actor events_b{b.system()};
    a.subscribe_members(events_a);
    b.subscribe_members(events_b);
    // Every scheduler thread of `a` computes for longer than the timeout.
    std::vector<caf::actor> burners;
    for (size_t i = 0; i < ca.threads; ++i)
      burners.emplace_back(a.system().spawn(burner));
    for (auto& x : burners)
      self->send(x, burn_atom::value, burn_ms);
    for (size_t i = 0; i < burners.size(); ++i)
      self->receive([](int) {},
                    caf::after(std::chrono::milliseconds{burn_ms} + 20s) >>
                      [] { ADD_FAILURE() << "a burner did not finish"; });
    // A request to each daemon is handled after the ticks that waited for a
    // free thread (and after anything they decided).
    auto on_a = a.spawn_on("a", "echo");
    ASSERT_TRUE(on_a) << troupe::describe(on_a.error());
    auto on_b = b.spawn_on("b", "echo");
    ASSERT_TRUE(on_b) << troupe::describe(on_b.error());
    // And a round trip from `b` through `a`'s daemon and back.
    auto across = b.spawn_on("a", "echo");
    ASSERT_TRUE(across) << troupe::describe(across.error());
    auto stats_a = a.cluster_statistics();
    auto stats_b = b.cluster_statistics();
    EXPECT_EQ(stats_a.fenced, 0u);
    EXPECT_EQ(stats_b.fenced, 0u);
    EXPECT_EQ(a.incarnation(), a_incarnation);
    EXPECT_EQ(b.incarnation(), b_incarnation);
    for (auto& ev : drain(events_a))
      EXPECT_EQ(ev.find(":down"), std::string::npos) << "on a: " << ev;
    for (auto& ev : drain(events_b))
      EXPECT_EQ(ev.find(":down"), std::string::npos) << "on b: " << ev;
    for (auto* n : {&a, &b})
      for (auto& m : n->members())
        EXPECT_EQ(m.status, troupe::member_status::up)
          << n->name() << " sees " << m.name << " "
          << troupe::to_string(m.status);
    for (auto& x : burners)
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  }
}
