// SPDX-License-Identifier: Apache-2.0
// actor_base::resume: CAF 0.17.6's scheduled_actor::resume, minus its clock
// read for streams when the actor has never started a stream.
//
// CAF's loop reads the actor clock after every round of the mailbox, only to
// ask `advance_streams(now)` whether a stream needs a forced batch or a new
// credit round; with no stream ticks started that call answers
// `time_point::max()` without looking at `now`. The read is a
// `clock_gettime` per resumed actor: about 9% of a local ping-pong's busy
// thread. Here the clock is read only once the ticks have started, and
// everything else is CAF's code, step for step (including its
// `tout != 0` test in `reset_timeouts_if_needed`), but for a prefetch of
// the next message (`prefetching_visitor`).
#include "troupe/actor/actor_base.hpp"

#include <type_traits>
#include <utility>

namespace troupe {

namespace {

/// CAF's mailbox visitor, which first asks the memory for the next normal
/// message while this one is handled. A mailbox that filled up while its
/// actor waited (a fan-in's receiver behind long-running senders) holds
/// messages long gone from the cache: visited one after another, each is a
/// cache miss that waits for the one before.
struct prefetching_visitor {
  caf::scheduled_actor::mailbox_visitor& f;

  template <class Index, class Queue, class... Ts>
  auto operator()(Index id, Queue& q, Ts&&... xs)
    -> decltype(f(id, q, std::forward<Ts>(xs)...)) {
    if constexpr (std::is_same<Queue,
                               caf::scheduled_actor::normal_queue>::value)
      if (auto next = q.peek())
        __builtin_prefetch(next);
    return f(id, q, std::forward<Ts>(xs)...);
  }
};

} // namespace

caf::resumable::resume_result actor_base::resume(caf::execution_unit* ctx,
                                                 size_t max_throughput) {
  if (!activate(ctx))
    return caf::resumable::done;
  size_t handled_msgs = 0;
  caf::actor_clock::time_point tout{caf::actor_clock::duration_type{0}};
  auto reset_timeouts_if_needed = [&] {
    if (handled_msgs > 0)
      set_receive_timeout();
    if (!stream_managers_.empty()) {
      if (tout.time_since_epoch().count() != 0)
        tout = advance_streams(clock().now());
      set_stream_timeout(tout);
    }
  };
  mailbox_visitor visit{this, handled_msgs, max_throughput};
  prefetching_visitor f{visit};
  while (handled_msgs < max_throughput) {
    if (!mailbox_.new_round(3, f).consumed_items) {
      reset_timeouts_if_needed();
      if (mailbox().try_block())
        return caf::resumable::awaiting_message;
    }
    if (finalize())
      return caf::resumable::done;
    if (stream_ticks_.started()) {
      auto now = clock().now();
      if (now >= tout)
        tout = advance_streams(now);
    } else {
      // What advance_streams answers without started ticks.
      tout = caf::actor_clock::time_point::max();
    }
  }
  reset_timeouts_if_needed();
  if (mailbox().try_block())
    return caf::resumable::awaiting_message;
  return caf::resumable::resume_later;
}

} // namespace troupe
