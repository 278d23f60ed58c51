// SPDX-License-Identifier: Apache-2.0
// One monitor's failure detector (tests/runtime/cluster/heartbeat_watch_test
// .cpp): the members it watches (monitor_ring.hpp), when each last answered
// its heartbeat, and its verdict on each at a given time. Virtual time: the
// caller passes every time point, so it is tested without a clock.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "cluster/member_key.hpp"

namespace troupe::cluster {

/// A monitor's verdict on one member it watches.
struct watch_verdict {
  member_key subject;
  bool reachable = true;
};

/// The heartbeats of the members one node watches. Not thread safe (its
/// owner's).
class heartbeat_watch {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;
  using duration = clock::duration;

  /// A member that did not answer for `failure_timeout` is unreachable. A
  /// gap of more than `stall_limit` between two calls of `judge` means this
  /// node did not run (SIGSTOP, a frozen VM): the silence is its own, so it
  /// judges nobody on it.
  heartbeat_watch(duration failure_timeout, duration stall_limit);

  /// Watches exactly `subjects` from `now` on. One newly watched (or with a
  /// new incarnation) counts as heard at `now`: it has a failure timeout to
  /// answer the first heartbeat. Those no longer listed are dropped.
  void watch(const std::vector<member_key>& subjects, time_point now);

  /// A heartbeat answer of `subject` arrived at `at`. Ignored for members
  /// not watched or of another incarnation, and when older than what was
  /// heard before.
  void heard(const member_key& subject, time_point at);

  /// Each watched member's verdict at `now`: unreachable once it was silent
  /// for the failure timeout. After a stall of this node every member
  /// counts as heard at `now` and is reachable.
  std::vector<watch_verdict> judge(time_point now);

  /// The members watched, in the order given to `watch`.
  std::vector<member_key> subjects() const;

private:
  struct entry {
    member_key subject;
    time_point last;
  };

  duration timeout_;
  duration stall_limit_;
  bool judged_ = false;
  time_point last_judged_{};
  std::vector<entry> entries_;
};

} // namespace troupe::cluster
