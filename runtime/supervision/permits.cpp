// SPDX-License-Identifier: Apache-2.0
// Restart permits: a supervisor's answer to a child's next throw, given
// ahead so that the child restarts in place without a round trip. Exact
// OTP intensity: a permit goes out only while the restart it allows fits
// the intensity whenever it comes (every permit out counted as a restart
// at once), and every other restart is counted only after all permits
// are settled (supervisor_state.hpp).
#include <caf/actor_cast.hpp>

#include "supervision/supervisor_state.hpp"
#include "troupe/actor/actor_base.hpp"

namespace troupe::supervision {

void adopt_local(supervisor_actor* self, child_entry& child) {
  child.local = nullptr;
  child.permit = false;
  child.permit_counted = false;
  auto ptr = dynamic_cast<actor_base*>(
    caf::actor_cast<caf::abstract_actor*>(child.hdl));
  if (ptr != nullptr
      && caf::actor_cast<caf::abstract_actor*>(ptr->parent()) == self
      && ptr->can_restart_in_place())
    child.local = ptr;
}

bool settle_permits(supervisor_actor* self) {
  auto& st = self->state;
  if (st.permits == 0)
    return true;
  bool fits = true;
  time_point now{};
  bool have_now = false;
  for (auto& c : st.children) {
    if (!c.permit)
      continue;
    c.permit = false;
    --st.permits;
    if (c.local->revoke_restart_permit())
      continue; // unused: taken back
    // It restarted: counted now, as a restart is counted when it is
    // ordered (all permits out had room together when the last went out).
    if (!have_now) {
      now = self->clock().now();
      have_now = true;
    }
    c.permit_counted = true;
    ++c.restarts;
    c.last_failure_time = now;
    if (!st.intensity.admit(now))
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
    // One restart under a permit at a time: the next permit follows its
    // report.
    if (c.local == nullptr || c.permit || c.permit_counted || c.terminating
        || c.spec.restart == restart_type::temporary)
      continue;
    if (!have_now) {
      now = self->clock().now();
      have_now = true;
    }
    if (!st.intensity.room(now, st.permits + 1))
      return;
    c.local->grant_restart_permit();
    c.permit = true;
    ++st.permits;
  }
}

void supervisor_state::on_stop(supervisor_actor* self, const caf::error&) {
  static_cast<void>(settle_permits(self));
}

} // namespace troupe::supervision
