// SPDX-License-Identifier: Apache-2.0
// troupe's scheduler: work stealing as CAF's, with five differences.
//  - An idle worker sleeps until work comes: whoever makes a job runnable
//    wakes a sleeping worker when no other worker is searching (as Go's
//    scheduler does). CAF's idle workers wake every 10 ms to look for work
//    to steal, which is most of an idle node's CPU.
//  - The job an actor makes runnable goes to its worker's "next" slot and
//    runs there as soon as the current job ends, as Go's runnext and
//    Erlang's run queues keep a sender and receiver on one scheduler:
//    a ping-pong stays in one core's cache. Another worker takes it only
//    if it waited there 20 us (its worker is busy with a long job).
//  - No logger bookkeeping per job: CAF's worker finds each job's actor
//    id by dynamic_cast, and with a logger set on the thread every resumed
//    actor takes the logger's lock and map twice (CAF_PUSH_AID). troupe's
//    workers set no CAF logger (Debian's CAF logs nothing: QUIET).
//  - A thief takes up to half of a worker's queue in O(1) (job_queue.hpp;
//    CAF's deque walks its whole list for each job stolen).
//  - Its clock wakes its thread only for the actors that set a timeout
//    (timer_clock.hpp; CAF's wakes it for every actor that ends).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

#include "node/timer_clock.hpp"

namespace troupe::detail {

struct scheduler_settings {
  /// Polls a worker out of work makes without pause...
  size_t spin_polls = 100;
  /// ...then with a yield between two...
  size_t yield_polls = 500;
  /// ...stealing at every this many polls, before it sleeps.
  size_t steal_every = 5;
  /// A sleeping worker wakes after this long even if nobody woke it: a
  /// safety net, since work wakes it.
  std::chrono::milliseconds idle_timeout{1000};
};

/// What the workers did so far (tests, benchmarks).
struct scheduler_stats {
  /// Times a worker fell asleep.
  size_t sleeps = 0;
  /// Times a worker was woken for work (not its own timeout).
  size_t wakeups = 0;
  /// Jobs taken from another worker.
  size_t steals = 0;
};

class scheduler final : public caf::scheduler::abstract_coordinator {
public:
  using super = caf::scheduler::abstract_coordinator;

  explicit scheduler(caf::actor_system& sys);
  ~scheduler() override;

  /// A job made runnable outside the workers (another thread, an actor
  /// spawned from outside): to the workers in turn.
  void enqueue(caf::resumable* job) override;

  caf::actor_clock& clock() noexcept override;

  scheduler_stats stats() const noexcept;

  /// Workers asleep now.
  size_t sleeping() const noexcept {
    return sleeping_.load(std::memory_order_relaxed);
  }

  class worker;

protected:
  void start() override;
  void stop() override;

private:
  friend class worker;

  /// After work was queued: wakes a sleeping worker (not `except`) if no
  /// worker is searching.
  void wake_thief(const worker* except);

  /// As `wake_thief`, for a caller that queued the work with a seq_cst
  /// read-modify-write: that, not a fence, orders the queuing before the
  /// reads of the counts (no `mfence` on the hot path of `exec_later`).
  void wake_thief_after_rmw(const worker* except);

  /// A job from another worker than `thief`: from a queue's tail, or from
  /// a next slot where it waits for a busy worker.
  caf::resumable* steal(worker& thief);

  /// Whether any worker other than `self` has work waiting.
  bool work_elsewhere(const worker& self) const;

  scheduler_settings settings_;
  timer_clock clock_;
  std::thread clock_thread_;
  std::vector<std::unique_ptr<worker>> workers_;
  std::atomic<size_t> next_worker_{0};
  std::atomic<size_t> searching_{0};
  std::atomic<size_t> sleeping_{0};
  std::atomic<size_t> sleeps_{0};
  std::atomic<size_t> wakeups_{0};
  std::atomic<size_t> steals_{0};
};

/// The scheduler module of a node's actor system: troupe's, or CAF's test
/// coordinator when the configuration says `scheduler.policy = testing`.
caf::actor_system::module* make_scheduler(caf::actor_system& sys);

} // namespace troupe::detail
