// SPDX-License-Identifier: Apache-2.0
// The deterministic actor system: troupe's CAF config (hidden here, it is
// not installed) on CAF's test_coordinator.
#include "troupe/testkit/deterministic.hpp"

#include <caf/atom.hpp>

#include "troupe/error.hpp"
#include "node/caf_config.hpp"

namespace troupe::testkit {

struct deterministic::impl {
  troupe::detail::node_caf_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  std::unique_ptr<caf::scoped_actor> self;
};

deterministic::deterministic(types_fn add_types)
  : impl_(std::make_unique<impl>()) {
  auto& cfg = impl_->cfg;
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("logger.console", caf::atom("none"));
  cfg.add_error_category(error_category, [](uint8_t code, caf::atom_value cat,
                                            const caf::message& ctx) {
    return describe(caf::error{code, cat, ctx});
  });
  if (add_types)
    add_types(cfg.types);
  cfg.install_types();
  impl_->sys = std::make_unique<caf::actor_system>(cfg);
  impl_->sched = &dynamic_cast<caf::scheduler::test_coordinator&>(
    impl_->sys->scheduler());
}

deterministic::~deterministic() {
  // The test's actor goes first. Then what is queued runs, and what waits
  // on the virtual clock fires (a timer keeps its actor alive), a bounded
  // number of rounds: a timer that re-arms itself must not keep it here.
  impl_->self.reset();
  auto& sched = *impl_->sched;
  for (int i = 0; i < 100 && (sched.has_job() || sched.has_pending_timeout());
       ++i) {
    sched.run();
    sched.trigger_timeouts();
  }
  sched.run();
  // CAF would wait for actors still alive (held by the test, or waiting
  // for a message) forever: nothing runs them any more.
  impl_->sys->await_actors_before_shutdown(false);
  impl_->sys.reset();
}

caf::actor_system& deterministic::system() noexcept {
  return *impl_->sys;
}

caf::scheduler::test_coordinator& deterministic::scheduler() noexcept {
  return *impl_->sched;
}

caf::scoped_actor& deterministic::self() {
  if (!impl_->self)
    impl_->self = std::make_unique<caf::scoped_actor>(*impl_->sys);
  return *impl_->self;
}

size_t deterministic::run() {
  return impl_->sched->run();
}

bool deterministic::run_once() {
  return impl_->sched->try_run_once();
}

bool deterministic::has_work() const {
  return impl_->sched->has_job();
}

bool deterministic::has_pending_timeout() const {
  return impl_->sched->has_pending_timeout();
}

bool deterministic::trigger_timeout() {
  if (!impl_->sched->trigger_timeout())
    return false;
  run();
  return true;
}

size_t deterministic::trigger_timeouts() {
  auto n = impl_->sched->trigger_timeouts();
  run();
  return n;
}

size_t deterministic::advance_time(caf::timespan d) {
  auto n = impl_->sched->advance_time(d);
  run();
  return n;
}

caf::actor_clock::time_point deterministic::now() const {
  return impl_->sched->clock().now();
}

} // namespace troupe::testkit
