// SPDX-License-Identifier: Apache-2.0
#pragma once

// How long a thread polls for what it waits for before it sleeps: a direct
// links' reader thread for frames (cluster/link_loop.hpp), a requester for
// its answer (actor/requester.cpp). A pure rule, unit-tested on made-up
// timings (tests/runtime/actor/spin_budget_test.cpp).

#include <algorithm>
#include <chrono>

namespace troupe::detail {

/// The adaptive spin budget of one waiting thread (a link reader, a
/// requester).
///
/// Why: a thread that sleeps in epoll wakes up tens of microseconds late on
/// a VM, so while frames come back to back (a request and its answer) the
/// reader polls a little before it sleeps. Polling costs a CPU, though:
/// done after every frame by every reader of every node, a cluster with
/// light traffic burns CPU that grows with its size. So the reader polls
/// only while that pays: the budget doubles when a spin finds data and
/// halves when it finds none (to 0 below a microsecond), and is 0 at once
/// when the machine is crowded (a yield came back late: another thread
/// wanted this CPU). A sleep says how the last spin did: data soon after
/// it (within one `cap`) means it was a little short, and the budget grows
/// to twice what missed; data within a few `cap`s keeps a modest budget;
/// a longer sleep leaves the halvings be. An idle node never polls.
///
/// Not thread-safe: each reader thread owns one.
class spin_budget {
public:
  using duration = std::chrono::microseconds;

  /// `cap`: the most a spin lasts (0: never spin).
  explicit spin_budget(duration cap) : cap_(std::max(cap, duration{0})) {
  }

  /// How long the next spin may last.
  duration get() const {
    return budget_;
  }

  duration cap() const {
    return cap_;
  }

  /// Starts with a modest budget (a quarter of the cap) instead of none:
  /// for a waiter that has no history yet but waits only when something
  /// is due soon (a requester's first request).
  void prime() {
    budget_ = cap_.count() > 0 ? seed() : duration{0};
  }

  /// A spin found data.
  void hit() {
    budget_ = std::min(cap_, std::max(budget_ * 2, seed()));
  }

  /// A spin ran out its budget without data; `crowded`: a yield in it came
  /// back late.
  void miss(bool crowded) {
    budget_ = crowded ? duration{0} : budget_ / 2;
  }

  /// The thread slept `slept` (since its last spin, if any) and woke up to
  /// data.
  void woke(duration slept) {
    if (cap_.count() <= 0 || slept >= 4 * cap_)
      return;
    if (slept < cap_) // twice the spin that missed (halved since)
      budget_ = std::min(cap_, std::max(budget_ * 4, seed()));
    else
      budget_ = std::max(budget_, seed());
  }

  /// A yield that took longer than this means the CPU is wanted elsewhere.
  static constexpr duration crowded_yield{20};

private:
  duration seed() const {
    return std::max(cap_ / 4, std::min(cap_, duration{1}));
  }

  duration cap_;
  duration budget_{0};
};

} // namespace troupe::detail
