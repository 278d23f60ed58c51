// SPDX-License-Identifier: Apache-2.0
#pragma once

// How a direct link's reader thread runs the actor a frame wakes: at once,
// in that thread, instead of handing it to CAF's scheduler (one thread hop
// fewer per message; see link.hpp).

#include <cstddef>

#include <caf/actor_system.hpp>
#include <caf/execution_unit.hpp>
#include <caf/proxy_registry.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

namespace troupe::cluster {

/// Runs actors woken by a reader thread in that thread, as a CAF worker
/// would (the first one only: actors it wakes in turn go to the scheduler).
class link_inline_unit final : public caf::execution_unit {
public:
  /// Messages an actor runs inline before the scheduler takes it.
  static constexpr size_t throughput = 64;

  link_inline_unit(caf::actor_system* sys, caf::proxy_registry* proxies)
    : caf::execution_unit(sys) {
    proxies_ = proxies;
  }

  void exec_later(caf::resumable* job) override {
    if (running_) {
      system().scheduler().enqueue(job);
      return;
    }
    running_ = true;
    switch (job->resume(this, throughput)) {
      case caf::resumable::resume_later:
        system().scheduler().enqueue(job);
        break;
      case caf::resumable::done:
      case caf::resumable::awaiting_message:
        caf::intrusive_ptr_release(job);
        break;
      case caf::resumable::shutdown_execution_unit:
        caf::intrusive_ptr_release(job);
        break;
    }
    running_ = false;
  }

private:
  bool running_ = false;
};

} // namespace troupe::cluster
