// SPDX-License-Identifier: Apache-2.0
// troupe actors' own resume loop (runtime/actor/resume.cpp): CAF's loop
// without its per-round clock read while no stream has started. What the
// clock read served must still work: receive timeouts (set after a round
// that handled messages), and stream ticks, which need the clock once
// they start (a partial batch leaves only on a tick).
#include "troupe/actor/actor_base.hpp"

#include <chrono>
#include <future>
#include <memory>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/after.hpp>
#include <caf/attach_stream_sink.hpp>
#include <caf/attach_stream_source.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <gtest/gtest.h>

#include "node/scheduler.hpp"
#include "runtime/deterministic.hpp"
#include "troupe/actor/spawn.hpp"
#include "troupe/actor/stateful_actor.hpp"

using namespace std::chrono_literals;

namespace {

using poke_atom = caf::atom_constant<caf::atom("poke")>;
using count_atom = caf::atom_constant<caf::atom("count")>;

struct idle_state {
  static inline const char* name = "resume.idle";
  int pokes = 0;
  int timeouts = 0;
};

// Counts pokes, and the receive timeouts after them.
caf::behavior idle_watcher(troupe::stateful_actor<idle_state>* self) {
  return {
    [self](poke_atom) { ++self->state.pokes; },
    [self](count_atom) {
      return std::make_tuple(self->state.pokes, self->state.timeouts);
    },
    caf::after(50ms) >> [self] { ++self->state.timeouts; },
  };
}

TEST(Resume, AReceiveTimeoutIsSetAfterARoundThatHandledMessages) {
  troupe::test::deterministic d;
  auto a = troupe::spawn(*d.sys, idle_watcher);
  d.run();
  caf::anon_send(a, poke_atom::value);
  d.run();
  // The round that handled the poke set the timeout: due now.
  ASSERT_TRUE(d.sched->trigger_timeout());
  d.run();
  caf::scoped_actor self{*d.sys};
  auto req = self->request(a, caf::infinite, count_atom::value);
  d.run();
  int pokes = -1, timeouts = -1;
  req.receive([&](int p, int t) { pokes = p, timeouts = t; },
              [](caf::error&) { FAIL() << "no answer"; });
  EXPECT_EQ(pokes, 1);
  EXPECT_EQ(timeouts, 1);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  d.run();
}

struct sink_state {
  static inline const char* name = "resume.sink";
};

// A troupe actor that counts a stream's elements and says when it has
// `want` of them.
caf::behavior counting_sink(troupe::stateful_actor<sink_state>* self,
                            int32_t want,
                            std::shared_ptr<std::promise<void>> got) {
  return {
    [self, want, got](caf::stream<int32_t> in) {
      return caf::attach_stream_sink(
        self, in, [](int32_t& n) { n = 0; },
        [want, got](int32_t& n, int32_t) {
          if (++n == want)
            got->set_value();
        });
    },
  };
}

struct source_state {
  static inline const char* name = "resume.source";
};

// A troupe actor that streams 0..n-1 to `sink`, then nothing, without
// ending the stream: fewer elements than a batch, which leave only when a
// stream tick forces the batch out (the clock read the loop keeps once
// ticks have started).
caf::behavior trickling_source(troupe::stateful_actor<source_state>* self,
                               caf::actor sink, int32_t n) {
  caf::attach_stream_source(
    self, sink, [](int32_t& x) { x = 0; },
    [n](int32_t& x, caf::downstream<int32_t>& out, size_t hint) {
      auto end = std::min(n, x + static_cast<int32_t>(hint));
      for (; x < end; ++x)
        out.push(x);
    },
    [](const int32_t&) { return false; });
  return {[](poke_atom) {}};
}

struct troupe_workers : caf::actor_system_config {
  troupe_workers() {
    set("scheduler.max-threads", size_t{2});
    module_factories.push_back(troupe::detail::make_scheduler);
  }
};

TEST(Resume, AStreamTickForcesOutAPartialBatch) {
  troupe_workers cfg;
  caf::actor_system sys{cfg};
  constexpr int32_t n = 3;
  auto got = std::make_shared<std::promise<void>>();
  auto all_there = got->get_future();
  auto sink = troupe::spawn(sys, counting_sink, n, got);
  auto source = troupe::spawn(sys, trickling_source, sink, n);
  EXPECT_EQ(all_there.wait_for(10s), std::future_status::ready)
    << "the partial batch never left the source";
  caf::anon_send_exit(source, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
}

} // namespace
