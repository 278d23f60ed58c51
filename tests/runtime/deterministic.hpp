// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>

#include "node/caf_config.hpp"

namespace troupe::test {

/// An actor system on CAF's test_coordinator: nothing runs until the test
/// says so, and timeouts fire only when triggered.
struct deterministic {
  // A node's config: Protobuf types and dead-letter counts.
  troupe::detail::node_caf_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;

  /// `prepare` may add types to `cfg.types` before the system starts.
  template <class F>
  explicit deterministic(F prepare) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.console", caf::atom("none"));
    prepare(cfg);
    cfg.install_types();
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
  }

  deterministic() : deterministic([](wire::detail::config_base&) {}) {
  }

  /// Runs every job until no actor has work left.
  size_t run() {
    return sched->run();
  }

  /// Sends a request from `self`, runs every job, and returns the answer
  /// or the error (request_timeout: nobody answered).
  template <class T, class... Ts>
  caf::expected<T> ask(caf::scoped_actor& self, const caf::actor& dst,
                       Ts&&... xs) {
    caf::expected<T> result = caf::make_error(caf::sec::request_timeout);
    auto rh = self->request(dst, caf::infinite, std::forward<Ts>(xs)...);
    run();
    rh.receive([&](T& x) { result = std::move(x); },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }
};

} // namespace troupe::test
