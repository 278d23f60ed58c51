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

#include "actor/inline_run.hpp"

namespace troupe::cluster {

/// Runs actors woken by a reader thread in that thread, as a CAF worker
/// would (the first one only: actors it wakes in turn go to the scheduler).
///
/// Only while that thread delivers (`delivering`): CAF also hands an
/// actor's last execution unit to other threads that act for it (a
/// response promise delivered from a journal's thread, for one); their
/// jobs go to the scheduler, and `running_` stays the reader's alone.
class link_inline_unit final : public caf::execution_unit {
public:
  /// Marks the calling thread as delivering for `unit` until destroyed.
  class delivering {
  public:
    explicit delivering(link_inline_unit& unit) : prev_(current()) {
      current() = &unit;
    }
    ~delivering() {
      current() = prev_;
    }
    delivering(const delivering&) = delete;
    delivering& operator=(const delivering&) = delete;

  private:
    link_inline_unit* prev_;
  };

  /// Messages an actor runs inline before the scheduler takes it.
  static constexpr size_t throughput = 64;

  link_inline_unit(caf::actor_system* sys, caf::proxy_registry* proxies)
    : caf::execution_unit(sys) {
    proxies_ = proxies;
  }

  void exec_later(caf::resumable* job) override {
    if (running_ || current() != this) {
      system().scheduler().enqueue(job);
      return;
    }
    running_ = true;
    troupe::detail::run_inline(job, this, throughput);
    running_ = false;
  }

private:
  static link_inline_unit*& current() noexcept {
    thread_local link_inline_unit* unit = nullptr;
    return unit;
  }

  bool running_ = false; // the delivering thread's only
};

} // namespace troupe::cluster
