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
#include "troupe/persistence/memory_journal.hpp"
#include "runtime/persistence/counter_actor.hpp"

namespace troupe::test {

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

} // namespace troupe::test
