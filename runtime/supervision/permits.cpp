// SPDX-License-Identifier: Apache-2.0
// Restart permits: a supervisor's answer to a child's next throws, given
// ahead so that the child restarts in place without a round trip. Exact
// OTP intensity: permits go out only while the restarts they allow fit the
// intensity whenever they come (every permit out counted as a restart at
// once), and every other restart is counted only after all permits are
// settled (supervisor_state.hpp). A few go out at a time, so that the
// supervisor writes to the child's permit count once per few restarts.
#include <algorithm>

#include <caf/actor_cast.hpp>

#include "supervision/supervisor_state.hpp"
#include "troupe/actor/actor_base.hpp"

namespace troupe::supervision {

namespace {

/// Permits a child holds at most; topped up when half are used.
constexpr uint32_t permit_batch = 8;

} // namespace

void adopt_local(supervisor_actor* self, child_entry& child) {
  child.local = nullptr;
  child.permits = 0;
  child.counted_ahead = 0;
  auto ptr = dynamic_cast<actor_base*>(
    caf::actor_cast<caf::abstract_actor*>(child.hdl));
  // A child whose parent is not set yet (or any more) is not adopted; and
  // CAF 0.17's actor_cast of a null handle dereferences it (UBSan).
  if (ptr != nullptr && ptr->parent()
      && caf::actor_cast<caf::abstract_actor*>(ptr->parent()) == self
      && ptr->can_restart_in_place())
    child.local = ptr;
}

bool count_permit_restart(supervisor_actor* self, child_entry& child,
                          time_point now) {
  ++child.restarts;
  child.last_failure_time = now;
  return self->state.intensity.admit(now);
}

bool settle_permits(supervisor_actor* self) {
  auto& st = self->state;
  if (st.permits == 0)
    return true;
  bool fits = true;
  auto now = self->clock().now();
  for (auto& c : st.children) {
    if (c.permits == 0)
      continue;
    // The rest were used: those restarts happened, their reports are on
    // the way; counted now, as a restart is counted when it is ordered.
    auto used = c.permits - c.local->revoke_restart_permits();
    st.permits -= c.permits;
    c.permits = 0;
    c.counted_ahead += used;
    for (; used > 0; --used)
      if (!count_permit_restart(self, c, now))
        fits = false;
  }
  return fits;
}

void grant_permits(supervisor_actor* self) {
  auto& st = self->state;
  if (st.stopping || st.flags.strategy != strategy::one_for_one)
    return;
  time_point now{};
  bool have_now = false;
  for (auto& c : st.children) {
    if (c.local == nullptr || c.permits > permit_batch / 2 || c.terminating
        || c.spec.restart == restart_type::temporary)
      continue;
    if (!have_now) {
      now = self->clock().now();
      have_now = true;
    }
    auto room = st.intensity.room(now);
    if (room <= st.permits)
      return;
    auto n = static_cast<uint32_t>(
      std::min<size_t>(permit_batch - c.permits, room - st.permits));
    c.local->grant_restart_permits(n);
    c.permits += n;
    st.permits += n;
  }
}

void supervisor_state::on_stop(supervisor_actor* self, const caf::error&) {
  static_cast<void>(settle_permits(self));
}

} // namespace troupe::supervision
