// SPDX-License-Identifier: Apache-2.0
// Idle connections that never complete a handshake cannot starve the
// members and the tool: a new connection displaces the oldest of them.
#include <poll.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>

#include "node_configs.hpp"
#include "raw_peer.hpp"
#include "troupe/error.hpp"
#include "troupe/node/node.hpp"
#include "troupe/wire/introspect.pb.h"
#include "troupe/wire/proto.hpp"

using namespace std::chrono_literals;
using troupe::test::raw_peer;

namespace {

troupe::node_config config(std::string name) {
  return troupe::test::named_config(std::move(name), troupe::log_level::error);
}

/// Connections of `xs` the other end closed.
size_t closed_count(const std::vector<std::unique_ptr<raw_peer>>& xs) {
  size_t n = 0;
  for (auto& x : xs) {
    if (x->fd < 0) {
      ++n;
      continue;
    }
    pollfd p{x->fd, POLLIN, 0};
    if (::poll(&p, 1, 0) == 1) {
      char c;
      if (::recv(x->fd, &c, 1, MSG_DONTWAIT) <= 0) {
        x->close();
        ++n;
      }
    }
  }
  return n;
}

/// Waits (bounded) until at least `n` of `xs` were closed by the node.
size_t await_closed(const std::vector<std::unique_ptr<raw_peer>>& xs,
                    size_t n, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t seen = closed_count(xs);
  while (seen < n && std::chrono::steady_clock::now() < deadline) {
    std::vector<pollfd> ps;
    for (auto& x : xs)
      if (x->fd >= 0)
        ps.push_back(pollfd{x->fd, POLLIN, 0});
    ::poll(ps.data(), ps.size(), 100);
    seen = closed_count(xs);
  }
  return seen;
}

} // namespace

TEST(ConnectionBudget, IdleConnectionsBeyondTheLimitLeaveRoomForMembersAndTheTool) {
  auto ca = config("a");
  ca.max_connections = 16;
  // Far longer than the test: only displacing idle connections frees slots.
  ca.handshake_timeout = 60s;
  troupe::node a{ca};
  ASSERT_FALSE(a.start());
  std::vector<std::unique_ptr<raw_peer>> idle;
  for (int i = 0; i < 24; ++i) {
    idle.emplace_back(std::make_unique<raw_peer>(a.port()));
    ASSERT_GE(idle.back()->fd, 0);
  }
  // The node took them all: 8 over its limit are closed (which 8 is the
  // fix: the oldest idle ones, not the newest).
  ASSERT_GE(await_closed(idle, 8, 10s), 8u);
  auto started = std::chrono::steady_clock::now();
  // A member joins.
  auto cb = config("b");
  cb.seeds = {"127.0.0.1:" + std::to_string(a.port())};
  troupe::node b{cb};
  ASSERT_FALSE(b.start());
  EXPECT_EQ(b.members().size(), 2u);
  EXPECT_EQ(a.members().size(), 2u);
  // The tool asks for the node's snapshot (as `troupe nodes` does: a node of
  // its own that dials the port and asks the introspection service).
  auto ct = config("tool");
  troupe::node tool{ct};
  tool.add_message_type<troupe::wire::SnapshotRequest>()
    .add_message_type<troupe::wire::ClusterSnapshot>();
  ASSERT_FALSE(tool.start());
  auto svc = tool.lookup("127.0.0.1", a.port(), "troupe.introspect", 5s);
  ASSERT_TRUE(svc) << troupe::describe(svc.error());
  bool answered = false;
  {
    caf::scoped_actor self{tool.system()};
    troupe::wire::SnapshotRequest req;
    self->request(*svc, 5s, req)
      .receive(
        [&](const troupe::wire::ClusterSnapshot& snap) {
          answered = snap.nodes_size() >= 1;
        },
        [&](caf::error& err) { ADD_FAILURE() << troupe::describe(err); });
  }
  EXPECT_TRUE(answered);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  tool.shutdown();
}
