// SPDX-License-Identifier: Apache-2.0
// Running an actor in a thread that is not a scheduler worker, as a worker
// would (`inline_unit`): a direct link's reader (cluster/link_inline_unit.hpp)
// and a requester's calling thread (`caller_unit` below) run the actor their
// message wakes at once, instead of waking a worker to run it and then
// being woken by the answer.
#pragma once

#include <cstddef>
#include <mutex>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/execution_unit.hpp>
#include <caf/intrusive_ptr.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>
#include <caf/thread_hook.hpp>

namespace troupe::detail {

/// Resumes `job` in this thread for at most `throughput` messages; a job
/// with more to do goes to the scheduler of `unit`'s system.
inline void run_inline(caf::resumable* job, caf::execution_unit* unit,
                       size_t throughput) {
  switch (job->resume(unit, throughput)) {
    case caf::resumable::resume_later:
      unit->system().scheduler().enqueue(job);
      break;
    case caf::resumable::done:
    case caf::resumable::awaiting_message:
    case caf::resumable::shutdown_execution_unit:
      caf::intrusive_ptr_release(job);
      break;
  }
}

/// An execution unit that runs the actor a thread wakes in that thread, as
/// a worker would, while the thread is in the unit's `scope`: the first
/// actor only (what that actor wakes in turn goes to the scheduler), for at
/// most `throughput` messages.
///
/// CAF keeps an actor's last execution unit and hands it to any thread that
/// later acts for the actor (a response promise delivered from another
/// thread), so whether to run inline is the calling thread's own state, not
/// the unit's: a thread outside the unit's scope sends to the scheduler.
class inline_unit : public caf::execution_unit {
public:
  /// Messages an actor runs inline before the scheduler takes it.
  static constexpr size_t throughput = 64;

  /// Marks the calling thread as acting through `unit` until destroyed.
  class scope {
  public:
    explicit scope(inline_unit& unit) : prev_(state().unit) {
      state().unit = &unit;
    }
    ~scope() {
      state().unit = prev_;
    }
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;

  private:
    inline_unit* prev_;
  };

  void exec_later(caf::resumable* job) override {
    auto& st = state();
    if (st.unit != this || st.running) {
      system().scheduler().enqueue(job);
      return;
    }
    st.running = true;
    run_inline(job, this, throughput);
    st.running = false;
  }

protected:
  explicit inline_unit(caf::actor_system* sys) : caf::execution_unit(sys) {
    // nop
  }

  struct thread_state {
    inline_unit* unit = nullptr; // in its scope now
    bool running = false;        // an actor runs inline now
    bool worker = false;         // a thread of the runtime
  };

  static thread_state& state() noexcept {
    thread_local thread_state st;
    return st;
  }
};

/// The execution unit a requester (troupe/actor/requester.hpp) sends
/// with: the actor its request wakes runs in the requesting thread, so
/// that the answer is usually there when the request returns, with no
/// thread woken either way (the bank's clients: issue 20).
///
/// One unit per actor system for the life of the process, never freed
/// (`of`): CAF hands an actor's last unit to whoever acts for it later.
/// Threads of the runtime never run inline (`mark_runtime_thread`: through
/// `runtime_thread_hook` every thread the actor system starts, troupe's or
/// CAF's scheduler workers and the multiplexer; the direct links' readers
/// mark themselves): a blocking request from inside an actor would nest a
/// second actor in its handler.
class caller_unit final : public inline_unit {
public:
  /// Marks the calling thread as sending through the unit.
  using sending = scope;

  /// The unit of `sys`.
  static caller_unit& of(caf::actor_system& sys) {
    // The map lives as long as its units (never destroyed, so that they
    // stay reachable: LeakSanitizer counts none of them as a leak).
    static std::mutex mtx;
    static auto* units = new std::unordered_map<caf::actor_system*,
                                                caller_unit*>();
    std::lock_guard<std::mutex> guard{mtx};
    auto& unit = (*units)[&sys];
    if (unit == nullptr)
      unit = new caller_unit(&sys); // never freed: see the class comment
    return *unit;
  }

  /// Whether this thread may run an actor inline now.
  static bool may_run_here() noexcept {
    auto& st = state();
    return !st.worker && st.unit == nullptr;
  }

  /// Called by each thread of the runtime once.
  static void mark_runtime_thread() noexcept {
    state().worker = true;
  }

private:
  explicit caller_unit(caf::actor_system* sys) : inline_unit(sys) {
    // nop
  }
};

/// Marks each thread the actor system starts as a runtime thread (a node
/// adds it to its CAF configuration).
class runtime_thread_hook final : public caf::thread_hook {
public:
  void init(caf::actor_system&) override {
    // nop
  }

  void thread_started() override {
    caller_unit::mark_runtime_thread();
  }

  void thread_terminates() override {
    // nop
  }
};

} // namespace troupe::detail
