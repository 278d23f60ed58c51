// SPDX-License-Identifier: Apache-2.0
// One worker's queue of runnable jobs in troupe's scheduler: the owner
// takes from the head, anyone appends, thieves take from the tail, every
// operation O(1) under one short lock.
//
// Why not CAF's double_ended_queue: its take_tail walks the list from the
// head to find the tail's predecessor, holding both its locks, so stealing
// from a queue of n jobs costs O(n) and blocks the owner meanwhile. Starting
// a supervision tree of 10,000 workers queues thousands of jobs: perf put
// 13% of that benchmark's samples in that walk and 5% more in the owner
// yielding on the lock (tools/bench/bench_supervisor tree).
#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <mutex>

#include <caf/resumable.hpp>

namespace troupe::detail {

class job_queue {
public:
  void append(caf::resumable* job) {
    std::lock_guard<std::mutex> guard{mtx_};
    jobs_.push_back(job);
    size_.store(jobs_.size(), std::memory_order_release);
  }

  /// Appends `n` jobs in order, under one lock (a thief's extra jobs).
  void append(caf::resumable* const* jobs, size_t n) {
    if (n == 0)
      return;
    std::lock_guard<std::mutex> guard{mtx_};
    jobs_.insert(jobs_.end(), jobs, jobs + n);
    size_.store(jobs_.size(), std::memory_order_release);
  }

  void prepend(caf::resumable* job) {
    std::lock_guard<std::mutex> guard{mtx_};
    jobs_.push_front(job);
    size_.store(jobs_.size(), std::memory_order_release);
  }

  /// The oldest job, or null.
  caf::resumable* take_head() {
    if (empty())
      return nullptr;
    std::lock_guard<std::mutex> guard{mtx_};
    if (jobs_.empty())
      return nullptr;
    auto job = jobs_.front();
    jobs_.pop_front();
    size_.store(jobs_.size(), std::memory_order_release);
    return job;
  }

  /// Moves up to half of the jobs (at most `max`, at least one if any)
  /// from the tail into `out`, oldest of them first; returns how many.
  size_t take_tail(caf::resumable** out, size_t max) {
    if (empty() || max == 0)
      return 0;
    std::lock_guard<std::mutex> guard{mtx_};
    auto n = std::min(max, (jobs_.size() + 1) / 2);
    auto first = jobs_.end() - static_cast<std::ptrdiff_t>(n);
    std::copy(first, jobs_.end(), out);
    jobs_.erase(first, jobs_.end());
    size_.store(jobs_.size(), std::memory_order_release);
    return n;
  }

  /// Without the lock: a hint that may be stale by the time it is used.
  bool empty() const noexcept {
    return size_.load(std::memory_order_acquire) == 0;
  }

private:
  std::mutex mtx_;
  std::deque<caf::resumable*> jobs_;
  std::atomic<size_t> size_{0};
};

} // namespace troupe::detail
