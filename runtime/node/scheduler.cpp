// SPDX-License-Identifier: Apache-2.0
// troupe's scheduler (scheduler.hpp).
//
// Who sleeps and who wakes, without lost wake-ups: a worker about to sleep
// counts itself sleeping, stops counting itself searching, then (after a
// full fence) looks for work once more; whoever queues work does so, then
// (after a full fence) reads the counts. Either the worker sees the work or
// the waker sees the worker asleep and wakes it. A worker's own `sleeping_`
// flag and its condition variable are under its mutex, so a wake-up cannot
// fall between its last look and its wait.
#include "node/scheduler.hpp"
#include "node/job_queue.hpp"

#include <condition_variable>
#include <mutex>
#include <random>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/detail/set_thread_name.hpp>
#include <caf/execution_unit.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/test_coordinator.hpp>

namespace troupe::detail {

namespace {

constexpr auto seq_cst = std::memory_order_seq_cst;
constexpr auto relaxed = std::memory_order_relaxed;

// A job in a busy worker's next slot this long goes to a thief.
constexpr auto next_grace = std::chrono::microseconds{20};

// The worker this thread is (null on other threads).
thread_local const void* current_worker = nullptr;

} // namespace

class scheduler::worker final : public caf::execution_unit {
public:
  worker(scheduler& parent, size_t id)
    : caf::execution_unit(&parent.system()),
      parent_(parent),
      id_(id),
      rng_(static_cast<uint32_t>(id * 7919 + 1)) {
    // nop
  }

  /// A job the current job made runnable (a message it sent, an actor it
  /// spawned): it runs next on this worker. Only this worker's thread.
  void exec_later(caf::resumable* job) override {
    // CAF also passes an actor's last worker when another thread acts for
    // the actor (a response promise delivered from a thread of its own).
    if (current_worker != this) {
      push(job);
      return;
    }
    fills_.store(fills_.load(relaxed) + 1, std::memory_order_release);
    // seq_cst: pairs with the sleeper's fence (see `wake_thief_after_rmw`).
    if (auto old = next_.exchange(job, seq_cst))
      queue_.prepend(old);
    parent_.wake_thief_after_rmw(this);
  }

  /// A job from anywhere: behind this worker's queue. With no worker
  /// asleep nobody needs waking, and the worker's lock is left alone (the
  /// fence pairs with the one in `sleep`, as in `wake_thief`).
  void push(caf::resumable* job) {
    queue_.append(job);
    std::atomic_thread_fence(seq_cst);
    if (parent_.sleeping_.load(relaxed) == 0)
      return;
    if (!wake())
      parent_.wake_thief(this);
  }

  /// Wakes this worker if it sleeps; returns whether it slept.
  bool wake() {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!sleeping_)
      return false;
    if (!woken_) {
      woken_ = true;
      // Counted as searching from now on, so that other wakers leave the
      // other sleepers alone.
      parent_.searching_.fetch_add(1, seq_cst);
      parent_.wakeups_.fetch_add(1, relaxed);
      cv_.notify_one();
    }
    return true;
  }

  void start() {
    thread_ = std::thread{[this] {
      current_worker = this;
      // No CAF logger on this thread: CAF_PUSH_AID, which every
      // scheduled_actor::resume runs, then costs nothing. With one, it
      // takes the logger's shared spinlock and hashes the thread id into a
      // map twice per resumed actor: 14% of a local ping-pong's thread
      // (perf, tools/bench/bench_ping_pong). Debian's CAF is built with
      // CAF_LOG_LEVEL_QUIET, so nothing on this thread logs through it.
      caf::detail::set_thread_name("troupe.worker");
      parent_.system().thread_started();
      run();
      parent_.system().thread_terminates();
    }};
  }

  void request_stop() {
    stop_.store(true, seq_cst);
    std::lock_guard<std::mutex> guard{mtx_};
    cv_.notify_one();
  }

  void join() {
    if (thread_.joinable())
      thread_.join();
  }

  /// After join: the jobs nobody ran.
  template <class F>
  void drain(F f) {
    if (auto job = next_.exchange(nullptr))
      f(job);
    while (auto job = queue_.take_head())
      f(job);
  }

  /// What a thief saw in a victim's next slot at its previous look.
  struct seen_slot {
    uint64_t fill = 0; // the slot's fill count plus one; 0: empty
    std::chrono::steady_clock::time_point since;
  };

  /// A job for `thief`: from the tail of the queue (up to half of it,
  /// the rest into the thief's queue, as Go's runqsteal), or the job in the
  /// next slot if it sat there for `next_grace` (this worker is busy with
  /// another).
  caf::resumable* give(worker& thief, seen_slot& seen) {
    caf::resumable* taken[max_steal];
    if (auto n = queue_.take_tail(taken, max_steal); n > 0) {
      thief.queue_.append(taken + 1, n - 1);
      return taken[0];
    }
    auto fills = fills_.load(std::memory_order_acquire);
    auto job = next_.load(std::memory_order_acquire);
    if (job == nullptr) {
      seen.fill = 0;
      return nullptr;
    }
    auto now = std::chrono::steady_clock::now();
    if (seen.fill != fills + 1) {
      seen.fill = fills + 1;
      seen.since = now;
      return nullptr;
    }
    if (now - seen.since < next_grace)
      return nullptr; // the owner may be about to run it
    seen.fill = 0;
    return next_.compare_exchange_strong(job, nullptr,
                                         std::memory_order_acq_rel)
             ? job
             : nullptr;
  }

  bool has_work() const {
    return next_.load(seq_cst) != nullptr || !queue_.empty();
  }

  size_t id() const noexcept {
    return id_;
  }

  std::minstd_rand& rng() noexcept {
    return rng_;
  }

  /// Per victim: its next slot at this worker's previous look (`give`).
  std::vector<seen_slot> seen;

private:
  caf::resumable* take_own() {
    // A pair of actors that keep making each other runnable would hold the
    // next slot forever: every so often the queue goes first.
    if (++streak_ % max_streak == 0)
      if (auto job = queue_.take_head())
        return job;
    if (next_.load(relaxed) != nullptr)
      if (auto job = next_.exchange(nullptr, std::memory_order_acq_rel))
        return job;
    return queue_.take_head();
  }

  /// The next job, or null once asked to stop and out of work.
  caf::resumable* next_job() {
    if (auto job = take_own())
      return job;
    parent_.searching_.fetch_add(1, seq_cst);
    for (;;) {
      if (auto job = search()) {
        // The last searcher to find work wakes another if more is waiting,
        // so that a burst spreads over the idle workers.
        if (parent_.searching_.fetch_sub(1, seq_cst) == 1
            && (has_work() || parent_.work_elsewhere(*this)))
          parent_.wake_thief(this);
        return job;
      }
      if (stop_.load(seq_cst)) {
        parent_.searching_.fetch_sub(1, seq_cst);
        return nullptr;
      }
      sleep();
    }
  }

  caf::resumable* search() {
    auto& s = parent_.settings_;
    for (size_t i = 0; i < s.spin_polls; ++i) {
      if (auto job = take_own())
        return job;
      if (i % s.steal_every == 0)
        if (auto job = parent_.steal(*this))
          return job;
    }
    // Yielding polls catch the next message of a conversation without a
    // sleep and a wake-up, but cost CPU when nothing comes: their number
    // grows when they found work, or when work woke this worker soon after
    // it fell asleep, and shrinks after a long sleep (`sleep`).
    for (size_t i = 0; i < yields_; ++i) {
      caf::resumable* job = take_own();
      if (job == nullptr && i % s.steal_every == 0)
        job = parent_.steal(*this);
      if (job != nullptr) {
        yields_ = std::min(s.yield_polls, 2 * yields_ + 1);
        return job;
      }
      if (stop_.load(relaxed))
        return nullptr;
      std::this_thread::yield();
    }
    return nullptr;
  }

  /// Sleeps until woken (or the safety timeout); counts this worker as a
  /// searcher again when it returns.
  void sleep() {
    std::unique_lock<std::mutex> guard{mtx_};
    sleeping_ = true;
    parent_.sleeping_.fetch_add(1, seq_cst);
    parent_.searching_.fetch_sub(1, seq_cst);
    std::atomic_thread_fence(seq_cst);
    auto busy = has_work() || parent_.work_elsewhere(*this);
    if (!stop_.load(seq_cst) && !busy) {
      parent_.sleeps_.fetch_add(1, relaxed);
      auto t0 = std::chrono::steady_clock::now();
      cv_.wait_for(guard, parent_.settings_.idle_timeout,
                   [this] { return woken_ || stop_.load(seq_cst); });
      auto slept = std::chrono::steady_clock::now() - t0;
      if (woken_ && slept < short_sleep)
        yields_ = std::min(parent_.settings_.yield_polls, 2 * yields_ + 1);
      else
        yields_ /= 2;
    }
    if (!woken_) // a waker counted it already
      parent_.searching_.fetch_add(1, seq_cst);
    woken_ = false;
    sleeping_ = false;
    parent_.sleeping_.fetch_sub(1, seq_cst);
    guard.unlock();
    if (busy) // work in a busy worker's next slot, not ours yet
      std::this_thread::yield();
  }

  void run() {
    auto throughput = parent_.max_throughput();
    for (;;) {
      auto job = next_job();
      if (job == nullptr)
        return;
      switch (job->resume(this, throughput)) {
        case caf::resumable::resume_later:
          // It used its share: behind the others.
          queue_.append(job);
          parent_.wake_thief(this);
          break;
        case caf::resumable::done:
        case caf::resumable::awaiting_message:
          intrusive_ptr_release(job);
          break;
        case caf::resumable::shutdown_execution_unit:
          return;
      }
    }
  }

  scheduler& parent_;
  size_t id_;
  std::minstd_rand rng_;
  size_t yields_ = 0; // yielding polls of the next search (`search`)
  // A sleep shorter than this: yielding polls would have caught the work.
  static constexpr std::chrono::microseconds short_sleep{500};
  static constexpr uint32_t max_streak = 64;
  // Jobs one steal takes at most.
  static constexpr size_t max_steal = 32;
  uint32_t streak_ = 0;
  std::atomic<caf::resumable*> next_{nullptr};
  std::atomic<uint64_t> fills_{0}; // written by this worker only
  job_queue queue_;
  std::atomic<bool> stop_{false};
  std::mutex mtx_;
  std::condition_variable cv_;
  bool sleeping_ = false; // guarded by mtx_
  bool woken_ = false;    // guarded by mtx_
  std::thread thread_;
};

scheduler::scheduler(caf::actor_system& sys) : super(sys) {
  // nop
}

scheduler::~scheduler() {
  // nop
}

void scheduler::start() {
  auto n = std::max<size_t>(num_workers(), 1);
  workers_.reserve(n);
  for (size_t i = 0; i < n; ++i)
    workers_.emplace_back(std::make_unique<worker>(*this, i));
  for (auto& w : workers_)
    w->seen.assign(n, worker::seen_slot{});
  for (auto& w : workers_)
    w->start();
  clock_thread_ = std::thread{[this] {
    caf::detail::set_thread_name("caf.clock");
    system().thread_started();
    clock_.run_dispatch_loop();
    system().thread_terminates();
  }};
  super::start(); // the utility actors
}

void scheduler::stop() {
  // The actor system awaited its actors: what is left are the jobs that
  // raced the end. Each worker runs its own queue dry, then exits.
  for (auto& w : workers_)
    w->request_stop();
  stop_actors();
  for (auto& w : workers_)
    w->join();
  for (auto& w : workers_)
    w->drain(&abstract_coordinator::cleanup_and_release);
  clock_.cancel_dispatch_loop();
  if (clock_thread_.joinable())
    clock_thread_.join();
}

void scheduler::enqueue(caf::resumable* job) {
  auto i = next_worker_.fetch_add(1, relaxed) % workers_.size();
  workers_[i]->push(job);
}

caf::actor_clock& scheduler::clock() noexcept {
  return clock_;
}

scheduler_stats scheduler::stats() const noexcept {
  scheduler_stats out;
  out.sleeps = sleeps_.load(relaxed);
  out.wakeups = wakeups_.load(relaxed);
  out.steals = steals_.load(relaxed);
  return out;
}

void scheduler::wake_thief(const worker* except) {
  std::atomic_thread_fence(seq_cst);
  wake_thief_after_rmw(except);
}

// Why no fence here: the caller's seq_cst exchange on a next slot and these
// seq_cst loads are in the single total order with the sleeper's seq_cst
// count updates and its seq_cst read of that slot (`has_work`). Either the
// exchange comes first and the sleeper sees the job, or the sleeper's read
// does, and then its count updates precede these loads. On x86 the
// exchange is a locked instruction and the loads are plain moves.
void scheduler::wake_thief_after_rmw(const worker* except) {
  if (searching_.load(seq_cst) != 0 || sleeping_.load(seq_cst) == 0)
    return;
  auto n = workers_.size();
  auto first = except != nullptr ? except->id() + 1 : 0;
  for (size_t i = 0; i < n; ++i) {
    auto& w = *workers_[(first + i) % n];
    if (&w != except && w.wake())
      return;
  }
}

caf::resumable* scheduler::steal(worker& thief) {
  auto n = workers_.size();
  if (n < 2)
    return nullptr;
  auto first = thief.rng()() % n;
  for (size_t i = 0; i < n; ++i) {
    auto v = (first + i) % n;
    if (v == thief.id())
      continue;
    if (auto job = workers_[v]->give(thief, thief.seen[v])) {
      steals_.fetch_add(1, relaxed);
      return job;
    }
  }
  return nullptr;
}

bool scheduler::work_elsewhere(const worker& self) const {
  for (auto& w : workers_)
    if (w.get() != &self && w->has_work())
      return true;
  return false;
}

caf::actor_system::module* make_scheduler(caf::actor_system& sys) {
  if (caf::get_or(sys.config(), "scheduler.policy", caf::atom("stealing"))
      == caf::atom("testing"))
    return new caf::scheduler::test_coordinator(sys);
  return new scheduler(sys);
}

} // namespace troupe::detail
