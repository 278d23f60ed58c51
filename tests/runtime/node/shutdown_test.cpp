// SPDX-License-Identifier: Apache-2.0
// A node's shutdown with actors it did not start: a caf::scoped_actor that
// lives across shutdown() (as one declared next to the node in main does
// across node::run()) cannot be stopped by a message, only destroyed by its
// owner after shutdown returns. The node names it and does not wait for it
// (it used to wait twice the shutdown timeout, then abandon the actor
// system and report failure: issue 17).
#include "troupe/node/node.hpp"

#include <chrono>
#include <string>
#include <vector>

#include <caf/actor_registry.hpp>
#include <caf/scoped_actor.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "troupe/log.hpp"

using namespace std::chrono_literals;
using testing::HasSubstr;

namespace {

// Collects troupe's warnings and errors while it lives.
struct warnings {
  std::vector<std::string> lines;
  warnings() {
    troupe::set_log_observer([this](troupe::log_level lvl,
                                    std::string_view line) {
      if (lvl >= troupe::log_level::warn)
        lines.emplace_back(line);
    });
  }
  ~warnings() {
    troupe::set_log_observer(nullptr);
  }
};

long ms_since(std::chrono::steady_clock::time_point t0) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - t0)
                             .count());
}

troupe::node_config config() {
  troupe::node_config cfg;
  cfg.name = "scoped-test";
  cfg.handle_signals = false;
  cfg.shutdown_timeout = 2s; // the old code waited 4 s
  cfg.log = troupe::log_level::warn;
  return cfg;
}

} // namespace

TEST(Shutdown, AScopedActorTheNodeKnowsIsNamedAndNotWaitedFor) {
  warnings seen;
  caf::actor_id id = 0;
  {
    troupe::node n{config()};
    ASSERT_FALSE(n.start());
    caf::scoped_actor self{n.system()};
    id = self->id();
    // As when its address left the node (a request to another node's
    // actor): CAF keeps it in its registry by ID, where the node finds it.
    n.system().registry().put(id, caf::actor_cast<caf::strong_actor_ptr>(self));
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_TRUE(n.shutdown());
    EXPECT_LT(ms_since(t0), 1500);
    EXPECT_FALSE(n.running());
    ASSERT_EQ(seen.lines.size(), 1u);
    EXPECT_THAT(seen.lines[0],
                HasSubstr("'scoped_actor' (id " + std::to_string(id)
                          + ", a caf::scoped_actor)"));
    EXPECT_THAT(seen.lines[0], HasSubstr("alive across node::run()"));
  } // `self` goes first, then the node, which then finds its system idle
  EXPECT_EQ(seen.lines.size(), 1u) << seen.lines.back();
}

TEST(Shutdown, AScopedActorTheNodeNeverSawDoesNotHoldItUpEither) {
  warnings seen;
  {
    troupe::node n{config()};
    ASSERT_FALSE(n.start());
    caf::scoped_actor self{n.system()};
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_TRUE(n.shutdown());
    EXPECT_LT(ms_since(t0), 1500);
    ASSERT_EQ(seen.lines.size(), 1u);
    EXPECT_THAT(seen.lines[0], HasSubstr("1 actor(s) it did not start are "
                                         "still running: a caf::scoped_actor"));
  }
  EXPECT_EQ(seen.lines.size(), 1u) << seen.lines.back();
}

TEST(Shutdown, RunReturnsSuccessWithAScopedActorAliveAcrossIt) {
  troupe::node n{config()};
  ASSERT_FALSE(n.start());
  caf::scoped_actor self{n.system()};
  n.request_shutdown();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(n.run(), 0);
  EXPECT_LT(ms_since(t0), 1500);
}
