// SPDX-License-Identifier: Apache-2.0
// A deterministic actor system with an in-memory journal run by hand, and
// the persistent counter the persistence tests use.
#pragma once

#include <memory>
#include <string>

#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>

#include "runtime/deterministic.hpp"
#include "troupe/actor/spawn.hpp"
#include "troupe/error.hpp"
#include "troupe/persistence/event_sourced.hpp"
#include "troupe/persistence/memory_journal.hpp"
#include "troupe_test/test.pb.h"

namespace troupe::test {

using add_atom = caf::atom_constant<caf::atom("add")>;
using total_atom = caf::atom_constant<caf::atom("total")>;
using counter_actor =
  persistence::event_sourced<troupe_test::CounterState, troupe_test::CounterEvent>;

/// The fold of the counter: pure.
inline void apply_counter(troupe_test::CounterState& s,
                          const troupe_test::CounterEvent& e) {
  s.set_total(s.total() + e.add());
  s.set_events(s.events() + 1);
}

/// A counter: `(add, n)` stores an event and answers the new total;
/// `(total)` answers the total; an int throws (a crash).
inline caf::behavior counter(counter_actor* self, std::string key,
                             persistence::snapshot_policy policy) {
  self->setup({"counter", key}, apply_counter, policy);
  return {
    [self](add_atom, int64_t n) -> caf::result<int64_t> {
      auto rp = self->make_response_promise<int64_t>();
      troupe_test::CounterEvent ev;
      ev.set_add(n);
      self->persist(std::move(ev), [rp](const troupe_test::CounterState& s) mutable {
        rp.deliver(static_cast<int64_t>(s.total()));
      });
      return rp;
    },
    [self](total_atom) { return static_cast<int64_t>(self->state().total()); },
    [](int) -> int64_t { throw std::runtime_error("crash on request"); },
  };
}

/// The deterministic system, a memory store and a manual journal service.
struct persistent_fixture : ::testing::Test {
  deterministic ctx;
  std::shared_ptr<persistence::memory_store> store
    = std::make_shared<persistence::memory_store>();
  std::shared_ptr<persistence::journal_service> svc;
  caf::scoped_actor self{*ctx.sys};

  persistent_fixture() {
    auto s = persistence::journal_service::start(
      [st = store] {
        return caf::expected<std::unique_ptr<persistence::journal>>{
          persistence::make_memory_journal(st)};
      },
      persistence::journal_service::mode::manual);
    svc = *s;
    persistence::attach_journal_service(*ctx.sys, svc);
  }

  ~persistent_fixture() override {
    persistence::attach_journal_service(*ctx.sys, nullptr);
  }

  /// Runs actors and journal batches until neither has work (bounded).
  void settle() {
    for (int i = 0; i < 100; ++i) {
      ctx.run();
      if (svc->run_pending() == 0 && ctx.run() == 0)
        return;
    }
    ADD_FAILURE() << "the system did not settle";
  }

  caf::actor spawn_counter(const std::string& key,
                           persistence::snapshot_policy policy = {}) {
    return troupe::spawn(*ctx.sys, counter, key, policy);
  }

  /// Sends a request, settles, returns the answer or the error.
  template <class... Ts>
  caf::expected<int64_t> ask(const caf::actor& dst, Ts&&... xs) {
    caf::expected<int64_t> result = caf::make_error(caf::sec::request_timeout);
    auto rh = self->request(dst, caf::infinite, std::forward<Ts>(xs)...);
    settle();
    rh.receive([&](int64_t x) { result = x; },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }
};

inline bool is(const caf::error& err, errc code) {
  return err.category() == error_category
         && err.code() == static_cast<uint8_t>(code);
}

} // namespace troupe::test
