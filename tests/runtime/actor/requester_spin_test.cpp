// SPDX-License-Identifier: Apache-2.0
// How long a requesting thread polls for its answer before it sleeps
// (actor/requester.cpp): the node's `--request-spin-us` reaches the actor
// system (CAF refuses to set an option it was not told of, which once left
// every requester on the built-in default), and polling requesters still
// get every answer, and their timeouts.
#include "troupe/actor/requester.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/settings.hpp>
#include <gtest/gtest.h>

#include "node/caf_config.hpp"
#include "troupe/node/node_config.hpp"

using namespace std::chrono_literals;

namespace {

using echo_atom = caf::atom_constant<caf::atom("echo")>;
using mute_atom = caf::atom_constant<caf::atom("mute")>;

int64_t spin_setting(caf::actor_system& sys) {
  return caf::get_or(sys.config(), "troupe.request-spin-us", int64_t{-1});
}

TEST(RequesterSpin, TheNodesSettingReachesTheActorSystem) {
  for (int64_t us : {0, 200, 1234}) {
    troupe::node_config nc;
    nc.request_spin = std::chrono::microseconds{us};
    troupe::detail::node_caf_config cfg;
    cfg.apply(nc);
    caf::actor_system sys{cfg};
    EXPECT_EQ(spin_setting(sys), us);
  }
}

caf::behavior echo(caf::event_based_actor* self) {
  // Promises kept and never kept: the requester's timeout ends its wait.
  auto kept = std::make_shared<std::vector<caf::response_promise>>();
  return {
    [](echo_atom, int64_t x) { return x; },
    [self, kept](mute_atom) { kept->push_back(self->make_response_promise()); },
  };
}

TEST(RequesterSpin, PollingAndSleepingRequestersGetEveryAnswerAndTheirTimeouts) {
  for (int64_t us : {0, 200}) {
    troupe::node_config nc;
    nc.request_spin = std::chrono::microseconds{us};
    troupe::detail::node_caf_config cfg;
    cfg.apply(nc);
    caf::actor_system sys{cfg};
    auto server = sys.spawn(echo);
    // Four threads at once, so that answers also come from the workers
    // (an idle actor would otherwise run in the asking thread).
    std::vector<std::thread> threads;
    std::vector<int64_t> wrong(4, 0);
    for (size_t t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        troupe::requester self{sys};
        for (int64_t i = 0; i < 2000; ++i) {
          auto out = self.ask<int64_t>(server, 10s, echo_atom::value, i);
          if (!out || *out != i)
            ++wrong[t];
        }
        auto silent = self.ask<int64_t>(server, 20ms, mute_atom::value);
        if (silent || silent.error() != caf::sec::request_timeout)
          ++wrong[t];
      });
    for (auto& t : threads)
      t.join();
    for (size_t t = 0; t < 4; ++t)
      EXPECT_EQ(wrong[t], 0) << "thread " << t << ", spin " << us << " us";
    caf::anon_send_exit(server, caf::exit_reason::user_shutdown);
  }
}

} // namespace
