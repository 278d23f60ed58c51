// SPDX-License-Identifier: Apache-2.0
// troupe actors' own resume loop (runtime/actor/resume.cpp): CAF's loop
// without its per-round clock read while no stream has started. What the
// clock read served must still work: receive timeouts (set after a round
// that handled messages), and streams, whose ticks need the clock once
// they start.
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

// A troupe actor that sums a stream of integers and hands the sum over.
caf::behavior summing_sink(troupe::stateful_actor<sink_state>* self,
                           std::shared_ptr<std::promise<int64_t>> out) {
  return {
    [self, out](caf::stream<int32_t> in) {
      return caf::attach_stream_sink(
        self, in, [](int64_t& sum) { sum = 0; },
        [](int64_t& sum, int32_t x) { sum += x; },
        [out](int64_t& sum, const caf::error& err) {
          if (err)
            out->set_value(-1);
          else
            out->set_value(sum);
        });
    },
  };
}

struct source_state {
  static inline const char* name = "resume.source";
};

// A troupe actor that streams 0..n-1 to `sink`.
caf::behavior counting_source(troupe::stateful_actor<source_state>* self,
                              caf::actor sink, int32_t n) {
  caf::attach_stream_source(
    self, sink, [](int32_t& x) { x = 0; },
    [n](int32_t& x, caf::downstream<int32_t>& out, size_t hint) {
      auto end = std::min(n, x + static_cast<int32_t>(hint));
      for (; x < end; ++x)
        out.push(x);
    },
    [n](const int32_t& x) { return x == n; });
  return {[](poke_atom) {}};
}

struct troupe_workers : caf::actor_system_config {
  troupe_workers() {
    set("scheduler.max-threads", size_t{2});
    module_factories.push_back(troupe::detail::make_scheduler);
  }
};

TEST(Resume, AStreamBetweenTroupeActorsCompletes) {
  troupe_workers cfg;
  caf::actor_system sys{cfg};
  auto sum = std::make_shared<std::promise<int64_t>>();
  auto result = sum->get_future();
  auto sink = troupe::spawn(sys, summing_sink, sum);
  constexpr int32_t n = 10000;
  auto source = troupe::spawn(sys, counting_source, sink, n);
  ASSERT_EQ(result.wait_for(10s), std::future_status::ready)
    << "the stream did not finish";
  EXPECT_EQ(result.get(), int64_t{n} * (n - 1) / 2);
  caf::anon_send_exit(source, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
}

} // namespace
