// SPDX-License-Identifier: Apache-2.0
// troupe::requester runs the idle local actor its request wakes in the
// requesting thread (runtime/actor/inline_run.hpp), and never does so in a
// scheduler worker.
#include "troupe/actor/requester.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include <caf/after.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <gtest/gtest.h>

#include "troupe/error.hpp"
#include "troupe/node/node.hpp"

using namespace std::chrono_literals;

namespace {

uint64_t this_thread_key() {
  return std::hash<std::thread::id>{}(std::this_thread::get_id());
}

troupe::node_config two_threads(bool troupe_scheduler = true) {
  troupe::node_config cfg;
  cfg.troupe_scheduler = troupe_scheduler;
  cfg.name = "requester-inline-test";
  cfg.threads = 2; // the nested request below needs a second worker
  cfg.shutdown_timeout = 300ms;
  cfg.log = troupe::log_level::error;
  return cfg;
}

/// Answers any int with the thread it handled it on.
caf::behavior where(caf::event_based_actor*) {
  return {
      [](int) { return this_thread_key(); },
  };
}

/// Asks `other` from inside its handler, through a requester of its own
/// (a blocking request on a worker: legal, if unwise), and answers the
/// thread it ran on and the thread `other` answered from.
caf::behavior nested(caf::event_based_actor* self, caf::actor other) {
  return {
      [self, other](int x) {
        troupe::requester inner{self->home_system()};
        auto there = inner.ask<uint64_t>(other, 5s, x);
        return caf::make_message(this_thread_key(), there ? *there : 0);
      },
  };
}

} // namespace

TEST(RequesterInline, AnIdleLocalActorRunsInTheRequestingThread) {
  troupe::node n{two_threads()};
  ASSERT_FALSE(n.start());
  auto actor = n.system().spawn(where);
  troupe::requester self{n.system()};
  // Early answers may come from a worker: the actor may still be starting
  // there, and a worker that answered may not have left the actor yet when
  // the next request comes (under load, for several requests in a row).
  // Once one answer came from this thread, the actor was idle when that
  // request returned, and so is it for every later one.
  std::vector<bool> here;
  for (int i = 0; i < 200; ++i) {
    auto x = self.ask<uint64_t>(actor, 5s, i);
    ASSERT_TRUE(x) << troupe::describe(x.error());
    here.push_back(*x == this_thread_key());
  }
  size_t first = 0;
  while (first < here.size() && !here[first])
    ++first;
  ASSERT_LT(first, here.size()) << "no answer came from this thread";
  for (size_t i = first; i < here.size(); ++i)
    EXPECT_TRUE(here[i]) << "request " << i << " ran on another thread";
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  EXPECT_TRUE(n.shutdown());
}

namespace {

void a_worker_that_asks_leaves_the_other_actor(bool troupe_scheduler) {
  troupe::node n{two_threads(troupe_scheduler)};
  ASSERT_FALSE(n.start());
  auto other = n.system().spawn(where);
  auto outer = n.system().spawn(nested, other);
  // From a scoped actor the request goes to a worker, whose own request
  // must leave `other` to the scheduler: a worker running a second actor
  // inside the first one's handler is what the rule prevents.
  caf::scoped_actor self{n.system()};
  for (int i = 0; i < 10; ++i) {
    bool answered = false;
    self->send(outer, i);
    self->receive(
        [&](uint64_t outer_thread, uint64_t other_thread) {
          answered = true;
          EXPECT_NE(other_thread, 0u);
          EXPECT_NE(outer_thread, other_thread) << "request " << i;
        },
        caf::after(5s) >> [] {});
    ASSERT_TRUE(answered) << "request " << i;
  }
  caf::anon_send_exit(outer, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(other, caf::exit_reason::user_shutdown);
  EXPECT_TRUE(n.shutdown());
}

} // namespace

TEST(RequesterInline, AWorkerThatAsksDoesNotRunTheOtherActorItself) {
  a_worker_that_asks_leaves_the_other_actor(true);
}

// CAF's workers are marked through the node's thread hook.
TEST(RequesterInline, ACafWorkerThatAsksDoesNotRunTheOtherActorItself) {
  a_worker_that_asks_leaves_the_other_actor(false);
}
