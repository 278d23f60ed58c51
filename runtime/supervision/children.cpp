// SPDX-License-Identifier: Apache-2.0
// What a supervisor does to one child: start it, stop it, forget it, and
// describe it (shared by supervisor.cpp and supervisor_api.cpp).
#include <caf/actor_system.hpp>
#include <caf/system_messages.hpp>
#include <fmt/format.h>

#include "actor/parent.hpp"
#include "supervision/name_binder.hpp"
#include "supervision/stable_handle.hpp"
#include "supervision/supervisor_state.hpp"
#include "troupe/log.hpp"

namespace troupe::supervision {

supervisor_state::supervisor_state() : path(detail::spawning_path()) {
}

size_t index_of(supervisor_actor* self, const child_entry& child) {
  return static_cast<size_t>(&child - self->state.children.data());
}

std::string child_path(supervisor_actor* self, const child_entry& child) {
  return self->state.path + "/" + child.spec.id;
}

child_entry* find(supervisor_actor* self, const std::string& id) {
  for (auto& c : self->state.children)
    if (c.spec.id == id)
      return &c;
  return nullptr;
}

child_entry* find(supervisor_actor* self, const caf::actor_addr& addr) {
  auto& st = self->state;
  if (st.stopping && st.stop_index > 0) {
    auto& c = st.children[st.stop_index - 1];
    if (c.hdl && c.hdl.compare(addr) == 0)
      return &c;
  }
  for (auto& c : st.children)
    if (c.hdl && c.hdl.compare(addr) == 0)
      return &c;
  return nullptr;
}

bool start_child(supervisor_actor* self, child_entry& child) {
  {
    std::optional<mailbox_bound> bound;
    if (child.spec.mailbox.bounded())
      bound = child.spec.mailbox;
    detail::parent_scope scope{caf::actor{self}, bound,
                               child_path(self, child)};
    // OTP runs start functions under catch: a throw is a failed start.
    try {
      child.hdl = child.spec.start(self->home_system());
      child.start_error = "its start function returned no actor";
    } catch (const std::exception& e) {
      child.hdl = nullptr;
      child.start_error = fmt::format("its start function threw: {}",
                                      e.what());
    } catch (...) {
      child.hdl = nullptr;
      child.start_error = "its start function threw";
    }
  }
  if (!child.hdl) {
    child.local = nullptr;
    return false;
  }
  adopt_local(self, child);
  child.stop_deadline = time_point{};
  self->monitor(child.hdl);
  child.started = self->clock().now();
  if (child.stable)
    self->send(child.stable, target_atom::value, child.hdl);
  if (!child.spec.global_name.empty()) {
    if (auto bind = name_binder_of(self->home_system()))
      bind(child.spec.global_name, child.hdl);
    else
      log(log_level::warn,
          fmt::format("supervisor {}: child '{}' names the cluster-wide "
                      "name '{}', but no node runs in this process",
                      self->state.path, child.spec.id,
                      child.spec.global_name));
  }
  return true;
}

const caf::actor& ensure_stable(supervisor_actor* self, child_entry& child) {
  if (!child.stable) {
    child.stable = spawn_stable_handle(self);
    self->send(child.stable, target_atom::value, child.hdl);
  }
  return child.stable;
}

namespace {

/// Makes sure a stop timer fires at `at` or earlier. One timer covers every
/// stopping child: a timer costs a trip through CAF's clock thread (a lock
/// and a wake-up), once per child it cost an ordered stop of a tree 1 +
/// 100 x 100 about a third of its time (tools/bench/bench_supervisor).
void arm_stop_timer(supervisor_actor* self, time_point at, time_point now) {
  auto& st = self->state;
  if (st.stop_timer != time_point{} && st.stop_timer <= at)
    return; // an earlier one re-arms for the rest when it fires
  st.stop_timer = at;
  self->delayed_send(self, at - now, stop_timeout_atom::value);
}

} // namespace

void stop_child(supervisor_actor* self, child_entry& child) {
  if (child.spec.shutdown.count() == 0) {
    self->send_exit(child.hdl, caf::exit_reason::kill);
    return;
  }
  self->send_exit(child.hdl, caf::exit_reason::user_shutdown);
  auto now = self->clock().now();
  auto deadline = now + child.spec.shutdown;
  // Asked again (say, stopping while terminate_child waits): the first
  // deadline stands.
  if (child.stop_deadline == time_point{} || deadline < child.stop_deadline)
    child.stop_deadline = deadline;
  arm_stop_timer(self, child.stop_deadline, now);
}

void on_stop_timer(supervisor_actor* self) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (st.stop_timer != time_point{} && st.stop_timer <= now)
    st.stop_timer = time_point{}; // this one, or a later one still pending
  time_point next{};
  for (auto& c : st.children) {
    if (c.stop_deadline == time_point{})
      continue;
    if (c.stop_deadline <= now) {
      // It did not stop within its shutdown time.
      c.stop_deadline = time_point{};
      if (c.hdl && (c.terminating || st.stopping))
        self->send_exit(c.hdl, caf::exit_reason::kill);
    } else if (next == time_point{} || c.stop_deadline < next) {
      next = c.stop_deadline;
    }
  }
  if (next != time_point{})
    arm_stop_timer(self, next, now);
}

void mark_gone(supervisor_actor* self, child_entry& child, caf::error reason) {
  if (child.stable)
    self->send(child.stable, gone_atom::value, std::move(reason));
}

void forget_child(supervisor_actor* self, child_entry& child,
                  const caf::error& reason) {
  mark_gone(self, child, reason);
  if (child.stable)
    self->send_exit(child.stable, caf::exit_reason::user_shutdown);
  auto& xs = self->state.children;
  xs.erase(xs.begin() + static_cast<std::ptrdiff_t>(index_of(self, child)));
}

child_status status_of(supervisor_actor* self, child_entry& c) {
  child_status s;
  s.id = c.spec.id;
  s.handle = c.hdl;
  s.stable = ensure_stable(self, c);
  s.restarts = c.restarts;
  s.last_failure = c.last_failure;
  s.last_failure_ns = c.restarts == 0
                        ? 0
                        : std::chrono::duration_cast<std::chrono::nanoseconds>(
                            c.last_failure_time.time_since_epoch())
                            .count();
  s.running = static_cast<bool>(c.hdl);
  s.kind = c.spec.kind;
  s.global_name = c.spec.global_name;
  s.restart = c.spec.restart;
  s.significant = c.spec.significant;
  s.failures = c.failures.records();
  return s;
}

} // namespace troupe::supervision
