// SPDX-License-Identifier: Apache-2.0
// The supervisor actor: applies OTP's rules (decision.hpp) to every failure
// and down message of its children, and stops them in reverse order. What
// it does to one child (start, stop, forget) is in children.cpp.
#include "troupe/supervision/supervisor.hpp"

#include <algorithm>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/local_actor.hpp>
#include <caf/system_messages.hpp>
#include <fmt/format.h>

#include "actor/parent.hpp"
#include "supervision/crash_report.hpp"
#include "supervision/name_binder.hpp"
#include "supervision/stable_handle.hpp"
#include "supervision/supervisor_report.hpp"
#include "supervision/supervisor_state.hpp"
#include "troupe/actor/spawn.hpp"
#include "troupe/error.hpp"
#include "troupe/log.hpp"

namespace troupe {

namespace supervision {

namespace {

/// Sent to itself when a child's backoff delay is over: (atom, child id).
using respawn_atom = caf::atom_constant<caf::atom("respawn")>;

void begin_stop(supervisor_actor* self, caf::error reason);

void give_up(supervisor_actor* self, const std::string& text);

/// Settles every restart permit out (permits.cpp) before a restart is
/// counted or a child's handle goes; false when the restarts made under
/// them exceed the intensity (they cannot: see grant_permits) and the
/// supervisor gives up.
bool settle(supervisor_actor* self) {
  if (settle_permits(self))
    return true;
  auto& f = self->state.flags;
  give_up(self, fmt::format("more than {} restarts within {} ms (restarts "
                            "in place under permits)",
                            f.max_restarts, f.period.count()));
  return false;
}

/// Records a failure on the child and counts it towards the intensity;
/// false when it exceeds the intensity (the supervisor is then on its way
/// down and the restart must not happen).
bool admit_restart(supervisor_actor* self, child_entry& child,
                   std::string failure, bool counted) {
  if (!settle(self))
    return false;
  auto now = self->clock().now();
  auto& st = self->state;
  ++child.restarts;
  child.last_failure = std::move(failure);
  child.last_failure_time = now;
  child.failures.add(now, child.last_failure);
  if (!counted || st.intensity.admit(now))
    return true;
  child.failures.decide(failure_decision::gave_up);
  give_up(self, fmt::format("more than {} restarts within {} ms (last: "
                            "child '{}': {})",
                            st.flags.max_restarts, st.flags.period.count(),
                            child.spec.id, child.last_failure));
  return false;
}

/// Exceeded intensity: stop every child, then fail with `text`.
void give_up(supervisor_actor* self, const std::string& text) {
  auto& st = self->state;
  crash_report(log_level::error,
               fmt::format("supervisor {} (actor {}) gives up: {}; stopping "
                           "its children and failing",
                           st.path, self->id(), text));
  begin_stop(self, make_error(errc::escalated, text));
}

void respawn(supervisor_actor* self, child_entry& child, bool siblings = true);

/// Restarts the siblings the strategy names, in start order, in place.
void restart_siblings(supervisor_actor* self, size_t failed) {
  auto& st = self->state;
  size_t first = 0;
  switch (st.flags.strategy) {
    case strategy::one_for_one:
      return;
    case strategy::one_for_all:
      first = 0;
      break;
    case strategy::rest_for_one:
      first = failed + 1;
      break;
  }
  for (size_t i = first; i < st.children.size(); ++i) {
    auto& c = st.children[i];
    if (i == failed || c.terminating)
      continue;
    if (c.spec.restart == restart_type::temporary) {
      // OTP: a temporary child stopped by the strategy is not restarted.
      if (c.hdl) {
        c.terminating = true;
        stop_child(self, c);
      }
      continue;
    }
    if (c.hdl) {
      c.restart_asked = true;
      self->send_exit(c.hdl, make_error(errc::restart_requested));
    } else if (!c.respawn_pending) {
      // Down (held for this round, terminated, or a transient child that
      // ended): OTP starts every kept child in the round.
      c.held = false;
      respawn(self, c, false);
    }
  }
}

/// Spawns a new incarnation; the strategy's siblings follow unless this
/// respawn is itself part of a sibling round. A start that fails counts
/// as a restart and is tried again (OTP's try_again_restart) until the
/// intensity gives out.
void respawn(supervisor_actor* self, child_entry& child, bool siblings) {
  auto idx = index_of(self, child);
  child.respawn_pending = false;
  if (!start_child(self, child)) {
    auto text = fmt::format("start failed: {}", child.start_error);
    if (!admit_restart(self, child, text, true))
      return;
    child.failures.decide(failure_decision::try_again);
    report(
      self, child, 0, [&] { return text; },
      [&] { return "try again (" + limit_text(self) + ")"; });
    child.respawn_pending = true;
    self->send(self, respawn_atom::value, child.spec.id);
    return;
  }
  if (siblings)
    restart_siblings(self, idx);
}

/// While a failed child waits for its backoff delay, the siblings the
/// strategy names stop (OTP: they depend on it); they start again with it.
void hold_siblings(supervisor_actor* self, size_t failed) {
  auto& st = self->state;
  if (st.flags.strategy == strategy::one_for_one)
    return;
  size_t first = st.flags.strategy == strategy::rest_for_one ? failed + 1 : 0;
  for (size_t i = first; i < st.children.size(); ++i) {
    auto& c = st.children[i];
    if (i == failed || !c.hdl || c.terminating)
      continue;
    if (c.spec.restart == restart_type::temporary)
      c.terminating = true; // forgotten when down
    else
      c.held = true;
    stop_child(self, c);
  }
}

/// The delay before the next respawn of `child`, or zero.
caf::timespan next_backoff(supervisor_actor* self, child_entry& child) {
  auto& st = self->state;
  if (!st.flags.backoff)
    return caf::timespan{0};
  auto& b = *st.flags.backoff;
  if (backoff_resets(b, self->clock().now() - child.started))
    child.backoff_step = 0;
  std::uniform_real_distribution<double> share{0.0, 1.0};
  return backoff_delay(b, child.backoff_step++, share(st.rng));
}

// -- ordered shutdown: children in reverse start order ------------------------

void stop_next(supervisor_actor* self) {
  auto& st = self->state;
  while (st.stop_index > 0) {
    auto& child = st.children[st.stop_index - 1];
    if (!child.hdl) {
      --st.stop_index;
      continue;
    }
    stop_child(self, child);
    return; // wait for its down message
  }
  for (auto& child : st.children) {
    for (auto& rp : child.terminated)
      rp.deliver(caf::unit);
    child.terminated.clear();
    if (child.stable) {
      mark_gone(self, child, st.stop_reason);
      self->send_exit(child.stable, caf::exit_reason::user_shutdown);
    }
  }
  self->quit(st.stop_reason);
}

void begin_stop(supervisor_actor* self, caf::error reason) {
  auto& st = self->state;
  if (st.stopping)
    return;
  // No child restarts under a permit from now on (what the permits out
  // allowed is counted; the supervisor stops anyway).
  static_cast<void>(settle_permits(self));
  st.stopping = true;
  st.stop_reason = std::move(reason);
  st.stop_index = st.children.size();
  stop_next(self);
}

/// After a significant child ended for good: OTP 24's auto_shutdown.
void check_auto_shutdown(supervisor_actor* self) {
  auto& st = self->state;
  size_t running = 0;
  for (auto& c : st.children)
    if (c.spec.significant && (c.hdl || c.respawn_pending))
      ++running;
  if (!auto_shutdown_due(st.flags.auto_shutdown, running))
    return;
  log(log_level::info,
      fmt::format("supervisor {} (actor {}) shuts down: significant "
                  "child(ren) ended (auto_shutdown)",
                  st.path, self->id()));
  begin_stop(self, caf::exit_reason::user_shutdown);
}

/// A child whose handler threw asks what to do: restart in place or stop.
caf::atom_value on_child_failed(supervisor_actor* self,
                                const caf::actor_addr& addr,
                                const std::string& what,
                                const std::string& type) {
  auto& st = self->state;
  caf::atom_value stop = detail::stop_atom::value;
  caf::atom_value restart = detail::restart_atom::value;
  auto child = find(self, addr);
  if (child == nullptr) {
    // On another node: an old incarnation of a child that was moved (its
    // node was frozen or cut off): restarting it would make two. Here: an
    // actor its start function spawned besides the child, not this
    // supervisor's to count; it keeps restarting in place while we run.
    if (addr.node() != self->node())
      return stop;
    return st.stopping ? stop : restart;
  }
  if (st.stopping)
    return stop;
  // A temporary child ends with the failure; its down message reports and
  // forgets it.
  if (after_stop(child->spec.restart, exit_cause::failure)
      != verdict::restart)
    return stop;
  auto text = thrown_text(what, type);
  if (!admit_restart(self, *child, std::move(text), true))
    return stop;
  child->failures.decide(failure_decision::restart_in_place);
  report(
    self, *child, addr.id(), [&] { return "failed: " + child->last_failure; },
    [&] { return "restart in place (" + limit_text(self) + ")"; });
  restart_siblings(self, index_of(self, *child));
  return restart;
}

/// A child restarted in place under a permit; counts it (unless settling
/// the permits did already) and reports it.
void on_child_restarted(supervisor_actor* self, const caf::actor_addr& addr,
                        const std::string& what, const std::string& type) {
  auto child = find(self, addr);
  if (child == nullptr)
    return;
  auto& st = self->state;
  if (child->counted_ahead > 0) {
    --child->counted_ahead;
  } else if (child->permits > 0) {
    // The permits out had room together when the last went out: this one
    // fits (one permit becomes one restart within the period).
    --child->permits;
    --st.permits;
    if (!count_permit_restart(self, *child, self->clock().now())) {
      give_up(self, fmt::format("more than {} restarts within {} ms "
                                "(restarts in place under permits)",
                                st.flags.max_restarts,
                                st.flags.period.count()));
      return;
    }
  } else {
    return; // no permit of this supervisor was used
  }
  write_thrown_text(child->last_failure, what, type); // reuses its buffer
  child->failures.add(child->last_failure_time, child->last_failure);
  child->failures.decide(failure_decision::restart_in_place);
  report(
    self, *child, addr.id(), [&] { return "failed: " + child->last_failure; },
    [&] { return "restart in place (" + limit_text(self) + ")"; });
}

void on_child_down(supervisor_actor* self, caf::down_msg& dm) {
  auto child = find(self, dm.source);
  if (child == nullptr)
    return;
  auto& st = self->state;
  if (child->permits > 0 && !settle(self))
    return;
  child->hdl = nullptr;
  child->local = nullptr;
  child->stop_deadline = time_point{};
  if (st.stopping) {
    if (st.stop_index > 0 && &st.children[st.stop_index - 1] == child) {
      --st.stop_index;
      stop_next(self);
    }
    return;
  }
  if (child->held) {
    // Stopped while a sibling waits for its backoff; starts with it.
    if (child->stable)
      self->send(child->stable, target_atom::value, caf::actor{});
    return;
  }
  if (child->terminating) {
    child->terminating = false;
    for (auto& rp : child->terminated)
      rp.deliver(caf::unit);
    child->terminated.clear();
    if (child->spec.restart == restart_type::temporary)
      forget_child(self, *child, caf::exit_reason::user_shutdown);
    else
      mark_gone(self, *child, caf::exit_reason::user_shutdown);
    return;
  }
  // A sibling that could not restart in place (a plain CAF actor, or a
  // supervisor) exits with the strategy's own request: respawn it as part
  // of the same round, without counting it or starting another round.
  auto asked = std::exchange(child->restart_asked, false);
  if (asked && dm.reason == make_error(errc::restart_requested)) {
    respawn(self, *child, false);
    return;
  }
  auto cause = classify(dm.reason);
  auto id = dm.source.id();
  bool significant = child->spec.significant;
  // The report's texts are made only when a report is written.
  auto what = [&] {
    auto text = failure_text(dm.reason);
    return cause == exit_cause::node_lost   ? "lost with its node: " + text
           : cause == exit_cause::node_left ? "left with its node: " + text
                                            : "exited: " + text;
  };
  switch (after_stop(child->spec.restart, cause)) {
    case verdict::forget:
      if (cause != exit_cause::normal)
        report(self, *child, id, what,
               [] { return "not restarted (temporary child)"; });
      forget_child(self, *child, dm.reason);
      if (significant)
        check_auto_shutdown(self);
      return;
    case verdict::keep_down:
      mark_gone(self, *child, dm.reason);
      if (significant)
        check_auto_shutdown(self);
      return;
    case verdict::restart:
      break;
  }
  bool first = cause == exit_cause::node_lost
               && st.losses.first(dm.source.node(), self->clock().now(),
                                  st.flags.period);
  bool counted = counts(cause, first);
  if (!admit_restart(self, *child, failure_text(dm.reason), counted))
    return;
  // Hold messages at the stable handle until the new incarnation is up.
  if (child->stable)
    self->send(child->stable, target_atom::value, caf::actor{});
  auto delay = next_backoff(self, *child);
  auto delay_ms = std::chrono::duration_cast<std::chrono::milliseconds>(delay);
  auto decided = cause == exit_cause::node_lost || cause == exit_cause::node_left
                   ? failure_decision::move
                   : failure_decision::respawn;
  child->failures.decide(decided, delay_ms, counted);
  auto how = [&] {
    // The history's wording, with why it counted or not.
    return word(decided, delay_ms.count(), true)
           + (counted ? " (" + limit_text(self) + ")"
              : cause == exit_cause::node_left
                ? " (not counted: its node left on purpose)"
                : " (not counted: its node's loss was counted once)");
  };
  report(self, *child, id, what, how,
         cause == exit_cause::node_left ? log_level::info : log_level::error);
  if (delay.count() > 0) {
    child->respawn_pending = true;
    hold_siblings(self, index_of(self, *child));
    self->delayed_send(self, delay, respawn_atom::value, child->spec.id);
  } else {
    respawn(self, *child);
  }
}

caf::behavior supervisor(supervisor_actor* self, supervisor_flags flags,
                         std::vector<child_spec> specs) {
  auto& st = self->state;
  st.flags = flags;
  st.intensity = restart_intensity{flags.max_restarts, flags.period};
  if (st.path.empty())
    st.path = !flags.path.empty() ? flags.path
                                  : fmt::format("/sup-{}", self->id());
  st.rng.seed(static_cast<std::minstd_rand::result_type>(self->id()));
  auto err = check_child_specs(specs, flags.auto_shutdown);
  if (!err && flags.period.count() <= 0)
    err = make_error(errc::bad_config,
                     fmt::format("restart period must be positive, got {} ms",
                                 flags.period.count()));
  if (err) {
    log(log_level::error, fmt::format("supervisor {} refuses its children: {}",
                                      st.path, describe(err)));
    self->quit(make_error(errc::bad_config, describe(err)));
    return {};
  }
  st.children.reserve(specs.size());
  for (auto& spec : specs) {
    st.children.emplace_back();
    st.children.back().spec = std::move(spec);
  }
  self->set_exit_handler([self](caf::exit_msg& x) {
    if (self->state.stopping && x.reason == caf::exit_reason::kill)
      self->quit(std::move(x.reason));
    else if (x.reason)
      begin_stop(self, std::move(x.reason));
  });
  for (auto& child : st.children)
    if (!start_child(self, child)) {
      begin_stop(self, make_error(errc::escalated,
                                  fmt::format("child '{}' did not start: {}",
                                              child.spec.id,
                                              child.start_error)));
      break;
    }
  grant_permits(self);
  self->set_down_handler([self](caf::down_msg& dm) {
    on_child_down(self, dm);
    grant_permits(self);
  });
  caf::message_handler core{
    [self](detail::child_failed_atom, const caf::actor_addr& addr,
           const std::string& what, const std::string& type) {
      auto order = on_child_failed(self, addr, what, type);
      grant_permits(self);
      return order;
    },
    [self](detail::child_restarted_atom, const caf::actor_addr& addr,
           const std::string& what, const std::string& type) {
      on_child_restarted(self, addr, what, type);
      grant_permits(self);
    },
    [self](respawn_atom, const std::string& id) {
      if (self->state.stopping)
        return;
      if (auto c = find(self, id); c != nullptr && c->respawn_pending)
        respawn(self, *c);
      grant_permits(self);
    },
    [self](stop_timeout_atom) { on_stop_timer(self); },
  };
  return core.or_else(api_handlers(self));
}

} // namespace

} // namespace supervision

caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_flags flags,
                            std::vector<child_spec> children) {
  // Explicitly unbounded: a supervisor never takes its child spec's bound.
  return troupe::spawn(sys, mailbox_bound{}, supervision::supervisor, flags,
                       std::move(children));
}

} // namespace troupe
