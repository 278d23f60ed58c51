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

void stop_child(supervisor_actor* self, child_entry& child) {
  if (child.spec.shutdown.count() == 0) {
    self->send_exit(child.hdl, caf::exit_reason::kill);
    return;
  }
  self->send_exit(child.hdl, caf::exit_reason::user_shutdown);
  self->delayed_send(self, child.spec.shutdown, stop_timeout_atom::value,
                     child.hdl.address());
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
