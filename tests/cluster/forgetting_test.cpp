// SPDX-License-Identifier: Apache-2.0
// Members that left (or went down) are forgotten after a bounded time: a
// node that saw many clients come and go lists only the live members.
#include <chrono>
#include <set>
#include <string>

#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>

#include "node_configs.hpp"
#include "troupe/node/node.hpp"

using namespace std::chrono_literals;

namespace {

troupe::node_config config(std::string name) {
  auto cfg = troupe::test::named_config(std::move(name));
  cfg.failure_detector.forget_after = 3500ms;
  return cfg;
}

std::set<std::string> names_of(const troupe::node& n) {
  std::set<std::string> xs;
  for (auto& m : n.members())
    xs.emplace(m.name + ":" + troupe::to_string(m.status));
  return xs;
}

} // namespace

TEST(Membership, ClientsThatJoinedAndLeftAreForgotten) {
  troupe::node a{config("a")};
  ASSERT_FALSE(a.start());
  auto seed = "127.0.0.1:" + std::to_string(a.port());
  auto cb = config("b");
  cb.seeds = {seed};
  troupe::node b{cb};
  ASSERT_FALSE(b.start());
  ASSERT_EQ(a.members().size(), 2u);
  constexpr int clients = 5;
  {
    caf::scoped_actor events{a.system()};
    a.subscribe_members(events);
    for (int i = 0; i < clients; ++i) {
      auto cc = config("client-" + std::to_string(i));
      cc.seeds = {seed};
      troupe::node c{cc};
      ASSERT_FALSE(c.start());
      ASSERT_GE(c.members().size(), 2u) << "client " << i << " did not join";
      c.leave();
      c.shutdown();
    }
    // Each client is forgotten (heard as `removed`) within a bound.
    std::set<std::string> removed;
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (removed.size() < clients
           && std::chrono::steady_clock::now() < deadline)
      events->receive(
        [&](const troupe::member_event& ev) {
          if (ev.member.status == troupe::member_status::removed)
            removed.emplace(ev.member.name);
        },
        caf::after(1s) >> [] {});
    EXPECT_EQ(removed.size(), static_cast<size_t>(clients));
  }
  std::set<std::string> live{"a:up", "b:up"};
  EXPECT_EQ(names_of(a), live);
  // `b` forgets them too (within the same bound: it is a member like `a`).
  {
    caf::scoped_actor events{b.system()};
    b.subscribe_members(events);
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (b.members().size() > 2 && std::chrono::steady_clock::now() < deadline)
      events->receive([](const troupe::member_event&) {},
                      caf::after(1s) >> [] {});
  }
  EXPECT_EQ(names_of(b), live);
}
