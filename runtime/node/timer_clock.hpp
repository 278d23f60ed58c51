// SPDX-License-Identifier: Apache-2.0
// The clock of troupe's scheduler: CAF's thread-safe actor clock, except
// that an actor which never set a timeout costs it nothing when it ends.
//
// Why: CAF 0.17 cancels every ending actor's timeouts (local_actor::cleanup
// calls cancel_timeouts), and the thread-safe clock turns each call into
// an event for its thread: a lock, a condition variable broadcast and a
// futex wake-up of the clock thread. Stopping a tree of 10,000 workers, few
// of which ever set a timeout, spent 10% of its samples in that wake-up
// (perf, tools/bench/bench_supervisor tree). This clock remembers which
// actors set one (ordinary, multi or request timeouts) and passes on only
// their cancellations.
#pragma once

#include <array>
#include <mutex>
#include <unordered_set>

#include <caf/actor_addr.hpp>
#include <caf/detail/thread_safe_actor_clock.hpp>

namespace troupe::detail {

class timer_clock final : public caf::detail::thread_safe_actor_clock {
public:
  using super = caf::detail::thread_safe_actor_clock;

  void set_ordinary_timeout(time_point t, caf::abstract_actor* self,
                            caf::atom_value type, uint64_t id) override;

  void set_request_timeout(time_point t, caf::abstract_actor* self,
                           caf::message_id id) override;

  void set_multi_timeout(time_point t, caf::abstract_actor* self,
                         caf::atom_value type, uint64_t id) override;

  void cancel_ordinary_timeout(caf::abstract_actor* self,
                               caf::atom_value type) override;

  void cancel_request_timeout(caf::abstract_actor* self,
                              caf::message_id id) override;

  void cancel_timeouts(caf::abstract_actor* self) override;

  /// Actors that set a timeout and have not ended (tests).
  size_t timed_actors() const;

private:
  struct shard {
    mutable std::mutex mtx;
    std::unordered_set<caf::actor_id> ids;
  };

  shard& shard_of(caf::actor_id id) {
    return shards_[id % shards_.size()];
  }

  void note(caf::actor_id id);
  bool noted(caf::actor_id id);
  bool forget(caf::actor_id id);

  std::array<shard, 16> shards_;
};

} // namespace troupe::detail
