// SPDX-License-Identifier: Apache-2.0
// A child's last few failures and what its supervisor decided of each
// (restart in place, respawn after a backoff, move to a live node, give
// up), for `which_children` and the dashboard's actor page. A ring that
// stays empty (one vector, no allocation) until the child first fails,
// then grows to `capacity`: a tree of 10,000 children carries no history
// it does not need. Recording reuses a slot's string, so a restart does
// not allocate once the ring is full, and the decision's wording is made
// only when asked.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "supervision/decision.hpp"
#include "troupe/supervision/supervisor.hpp"

namespace troupe::supervision {

enum class failure_decision : uint8_t {
  /// Recorded, not decided yet.
  pending,
  /// Restarted in place: same address, same mailbox, fresh state.
  restart_in_place,
  /// Spawned anew from its spec.
  respawn,
  /// Spawned anew on a live node (its node was lost or left).
  move,
  /// Its start failed: tried again.
  try_again,
  /// The restart would exceed the intensity: the supervisor gave up.
  gave_up,
};

class failure_history {
public:
  static constexpr size_t capacity = 10;

  /// Records a failure at `when`; its decision is pending until `decide`.
  void add(time_point when, const std::string& failure);

  /// What the supervisor decided of the newest failure; `delay` is the
  /// backoff before a respawn, `counted` whether it counted towards the
  /// intensity.
  void decide(failure_decision what, std::chrono::milliseconds delay = {},
              bool counted = true);

  /// Oldest first, with the decisions worded; times as nanoseconds of
  /// the actor clock (as `child_status::last_failure_ns`).
  std::vector<failure_record> records() const;

  size_t size() const noexcept {
    return size_;
  }

private:
  struct entry {
    time_point when{};
    std::string failure;
    failure_decision decision = failure_decision::pending;
    int64_t delay_ms = 0;
    bool counted = true;
  };

  std::vector<entry> ring_; // grows to capacity, then wraps
  size_t next_ = 0;         // the slot the next failure goes to
  size_t size_ = 0;
};

/// "restart in place", "respawn from its spec in 200 ms", ...
std::string word(failure_decision what, int64_t delay_ms, bool counted);

} // namespace troupe::supervision
