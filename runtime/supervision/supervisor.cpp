#include "troupe/supervision/supervisor.hpp"

#include <algorithm>
#include <deque>
#include <utility>
#include <random>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/system_messages.hpp>
#include <fmt/format.h>

#include "actor/parent.hpp"
#include "troupe/actor/spawn.hpp"
#include "troupe/error.hpp"
#include "troupe/log.hpp"
#include "wire/config_base.hpp"

namespace troupe {

namespace {

using clock_type = caf::actor_clock::clock_type;
using time_point = caf::actor_clock::time_point;

/// Sent to itself when a child's backoff delay is over: (atom, child id).
using respawn_atom = caf::atom_constant<caf::atom("respawn")>;

/// Sent to itself when a stopping child's shutdown time is up.
using stop_timeout_atom = caf::atom_constant<caf::atom("stoptmo")>;

/// Supervisor -> stable handle: the child's current incarnation (or none:
/// hold messages until the next one).
using target_atom = caf::atom_constant<caf::atom("stbltarget")>;

/// Supervisor -> stable handle: the child will not come back.
using gone_atom = caf::atom_constant<caf::atom("stblgone")>;

// -- stable handles -----------------------------------------------------------

/// The handle a supervisor hands out for a child: it forwards every message
/// (sender and request ID intact, so replies go straight to the client) to
/// the child's current incarnation, holds messages while the child is being
/// respawned, and answers requests with an error once the child is gone.
struct stable_state {
  static inline const char* name = "troupe.stable_handle";
  static constexpr size_t max_held = 10000;
  caf::actor target;
  caf::error gone;
  std::vector<std::pair<caf::response_promise, caf::message>> held;
};

using stable_actor = caf::stateful_actor<stable_state>;

caf::result<caf::message>
refuse(stable_actor* self, caf::response_promise& rp, caf::error reason,
       wire::detail::dead_letter why = wire::detail::dead_letter::actor_gone) {
  if (!rp.async()) {
    rp.deliver(std::move(reason));
    return caf::delegated<caf::message>{};
  }
  auto n = wire::detail::count_dead_letter(self->home_system(), why);
  if (n == 1 || n % 1000 == 0)
    log(log_level::warn,
        fmt::format("dead letter #{} ({}): a message to a child that is "
                    "gone or restarting ({})",
                    n, wire::detail::to_string(why), describe(reason)));
  return caf::delegated<caf::message>{};
}

caf::behavior stable_handle(stable_actor* self) {
  self->set_default_handler([](caf::scheduled_actor* ptr,
                               caf::message_view& x)
                              -> caf::result<caf::message> {
    auto self = static_cast<stable_actor*>(ptr);
    auto& st = self->state;
    auto rp = self->make_response_promise();
    auto msg = x.move_content_to_message();
    if (st.target) {
      rp.delegate(st.target, std::move(msg));
      return caf::delegated<caf::message>{};
    }
    if (st.gone)
      return refuse(self, rp, st.gone);
    if (st.held.size() >= stable_state::max_held)
      return refuse(self, rp,
                    make_error(errc::mailbox_full,
                               fmt::format("more than {} messages held for "
                                           "the restarting child",
                                           stable_state::max_held)),
                    wire::detail::dead_letter::mailbox_full);
    st.held.emplace_back(std::move(rp), std::move(msg));
    return caf::delegated<caf::message>{};
  });
  return {
    [self](target_atom, caf::actor& target) {
      auto& st = self->state;
      st.target = std::move(target);
      if (!st.target)
        return;
      for (auto& [rp, msg] : st.held)
        rp.delegate(st.target, std::move(msg));
      st.held.clear();
    },
    [self](gone_atom, caf::error& reason) {
      auto& st = self->state;
      st.target = nullptr;
      st.gone = reason ? std::move(reason)
                       : make_error(errc::name_not_found, "child is gone");
      for (auto& held : st.held)
        refuse(self, held.first, st.gone);
      st.held.clear();
    },
  };
}

struct child_entry {
  child_spec spec;
  caf::actor hdl;
  caf::actor stable; // forwards to `hdl`, survives respawns
  uint64_t restarts = 0;
  std::string last_failure;
  time_point last_failure_time{};
  bool terminating = false;    // terminate_child: remove when down
  bool restart_asked = false;  // sent restart_requested by the strategy
  uint32_t backoff_step = 0;   // respawns in a row, for the backoff delay
  time_point started{};        // when the current incarnation started
};

struct supervisor_state {
  static inline const char* name = "troupe.supervisor";
  supervisor_flags flags;
  std::vector<child_entry> children;
  std::deque<time_point> recent; // restart times within the period
  bool stopping = false;
  caf::error stop_reason;
  size_t stop_index = 0; // children[stop_index - 1] is being stopped
  std::minstd_rand rng;   // backoff jitter
};

using supervisor_actor = stateful_actor<supervisor_state>;

bool is_normal(const caf::error& reason) {
  return !reason || reason == caf::exit_reason::user_shutdown;
}

child_entry* find(supervisor_actor* self, const caf::actor_addr& addr) {
  for (auto& c : self->state.children)
    if (c.hdl && c.hdl.address() == addr)
      return &c;
  return nullptr;
}

void begin_stop(supervisor_actor* self, caf::error reason);

/// Counts a restart; false when it exceeds the intensity (then the
/// supervisor is already on its way down).
bool note_restart(supervisor_actor* self, child_entry& child,
                  std::string failure) {
  auto now = self->clock().now();
  auto& st = self->state;
  ++child.restarts;
  child.last_failure = std::move(failure);
  child.last_failure_time = now;
  st.recent.push_back(now);
  while (!st.recent.empty()
         && (now - st.recent.front() > st.flags.period
             || st.recent.size() > st.flags.max_restarts + 1))
    st.recent.pop_front();
  if (st.recent.size() <= st.flags.max_restarts)
    return true;
  auto text = fmt::format("more than {} restarts within {} ms (last: child "
                          "'{}': {})",
                          st.flags.max_restarts, st.flags.period.count(),
                          child.spec.id, child.last_failure);
  log(log_level::error, fmt::format("supervisor (id {}) gives up: {}",
                                    self->id(), text));
  begin_stop(self, make_error(errc::escalated, std::move(text)));
  return false;
}

void restart_siblings(supervisor_actor* self, size_t failed);
size_t index_of(supervisor_actor* self, const child_entry& child);

caf::actor start_child(supervisor_actor* self, child_entry& child) {
  {
    std::optional<mailbox_bound> bound;
    if (child.spec.mailbox.bounded())
      bound = child.spec.mailbox;
    detail::parent_scope scope{caf::actor{self}, bound};
    child.hdl = child.spec.start(self->home_system());
  }
  if (child.hdl)
    self->monitor(child.hdl);
  child.started = self->clock().now();
  if (child.stable)
    self->send(child.stable, target_atom::value, child.hdl);
  return child.hdl;
}

/// The child's stable handle, made on first demand: a tree nobody asks
/// about costs no extra actor per child.
const caf::actor& ensure_stable(supervisor_actor* self, child_entry& child) {
  if (!child.stable) {
    child.stable = self->spawn(stable_handle);
    self->send(child.stable, target_atom::value, child.hdl);
  }
  return child.stable;
}

/// The delay before the next respawn of `child`, or zero.
caf::timespan backoff_delay(supervisor_actor* self, child_entry& child) {
  auto& st = self->state;
  if (!st.flags.backoff)
    return caf::timespan{0};
  auto& b = *st.flags.backoff;
  if (self->clock().now() - child.started >= b.reset_after)
    child.backoff_step = 0;
  double delay = static_cast<double>(b.min.count());
  for (uint32_t i = 0; i < child.backoff_step && delay < b.max.count(); ++i)
    delay *= b.factor;
  delay = std::min(delay, static_cast<double>(b.max.count()));
  if (b.jitter > 0) {
    std::uniform_real_distribution<double> share{0.0, b.jitter};
    delay *= 1.0 + share(st.rng);
  }
  ++child.backoff_step;
  return std::chrono::duration_cast<caf::timespan>(
    std::chrono::duration<double, std::milli>{delay});
}

/// Spawns a new incarnation; the strategy's siblings follow unless this
/// respawn is itself part of a sibling round.
void respawn(supervisor_actor* self, child_entry& child, bool siblings = true) {
  auto idx = index_of(self, child);
  if (!start_child(self, child)) {
    begin_stop(self, make_error(errc::escalated,
                                fmt::format("child '{}' did not restart",
                                            child.spec.id)));
    return;
  }
  if (siblings)
    restart_siblings(self, idx);
}


/// Tells the child's stable handle that no incarnation follows.
void mark_gone(supervisor_actor* self, child_entry& child, caf::error reason) {
  if (child.stable)
    self->send(child.stable, gone_atom::value, std::move(reason));
}

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
  for (size_t i = first; i < st.children.size(); ++i)
    if (i != failed && st.children[i].hdl) {
      st.children[i].restart_asked = true;
      self->send_exit(st.children[i].hdl,
                      make_error(errc::restart_requested));
    }
}

size_t index_of(supervisor_actor* self, const child_entry& child) {
  return static_cast<size_t>(&child - self->state.children.data());
}

/// Drops a child for good: its stable handle answers `reason` from now on.
void forget_child(supervisor_actor* self, child_entry& child,
                  const caf::error& reason) {
  mark_gone(self, child, reason);
  if (child.stable)
    self->send_exit(child.stable, caf::exit_reason::user_shutdown);
  auto& xs = self->state.children;
  xs.erase(xs.begin() + static_cast<std::ptrdiff_t>(index_of(self, child)));
}

// -- ordered shutdown: children in reverse start order ------------------------

/// Asks a child to stop; kills it now (shutdown 0) or when its time is up
/// (see stop_timeout_atom). Its down message tells the caller it is gone.
void stop_child(supervisor_actor* self, child_entry& child) {
  if (child.spec.shutdown.count() == 0) {
    self->send_exit(child.hdl, caf::exit_reason::kill);
    return;
  }
  self->send_exit(child.hdl, caf::exit_reason::user_shutdown);
  self->delayed_send(self, child.spec.shutdown, stop_timeout_atom::value,
                     child.hdl.address());
}

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
  for (auto& child : st.children)
    if (child.stable) {
      mark_gone(self, child, st.stop_reason);
      self->send_exit(child.stable, caf::exit_reason::user_shutdown);
    }
  self->quit(st.stop_reason);
}

void begin_stop(supervisor_actor* self, caf::error reason) {
  auto& st = self->state;
  if (st.stopping)
    return;
  st.stopping = true;
  st.stop_reason = std::move(reason);
  st.stop_index = st.children.size();
  stop_next(self);
}

void on_child_down(supervisor_actor* self, caf::down_msg& dm) {
  auto child = find(self, dm.source);
  if (child == nullptr)
    return;
  auto& st = self->state;
  child->hdl = nullptr;
  if (st.stopping) {
    if (st.stop_index > 0 && &st.children[st.stop_index - 1] == child) {
      --st.stop_index;
      stop_next(self);
    }
    return;
  }
  if (child->terminating) {
    forget_child(self, *child, dm.reason);
    return;
  }
  auto restart = child->spec.restart;
  if (restart == restart_type::temporary
      || (restart == restart_type::transient && is_normal(dm.reason))) {
    mark_gone(self, *child, dm.reason);
    return;
  }
  // Hold messages at the stable handle until the new incarnation is up.
  if (child->stable)
    self->send(child->stable, target_atom::value, caf::actor{});
  // A sibling that could not restart in place (a plain CAF actor, or a
  // supervisor) exits with the strategy's own request: respawn it as part
  // of the same round, without counting it or starting another round.
  auto asked = std::exchange(child->restart_asked, false);
  if (asked && dm.reason == make_error(errc::restart_requested)) {
    respawn(self, *child, false);
    return;
  }
  if (!note_restart(self, *child, describe(dm.reason)))
    return;
  auto delay = backoff_delay(self, *child);
  if (delay.count() > 0)
    self->delayed_send(self, delay, respawn_atom::value, child->spec.id);
  else
    respawn(self, *child);
}

caf::behavior supervisor(supervisor_actor* self, supervisor_flags flags,
                         std::vector<child_spec> specs) {
  auto& st = self->state;
  st.flags = flags;
  st.rng.seed(static_cast<std::minstd_rand::result_type>(self->id()));
  for (auto& spec : specs)
    st.children.push_back(child_entry{std::move(spec), {}, {}, 0, {}, {}});
  self->set_down_handler([self](caf::down_msg& dm) { on_child_down(self, dm); });
  self->set_exit_handler([self](caf::exit_msg& x) {
    if (self->state.stopping && x.reason == caf::exit_reason::kill)
      self->quit(std::move(x.reason));
    else if (x.reason)
      begin_stop(self, std::move(x.reason));
  });
  for (auto& child : st.children)
    if (!start_child(self, child)) {
      begin_stop(self, make_error(errc::escalated,
                                  fmt::format("child '{}' did not start",
                                              child.spec.id)));
      break;
    }
  return {
    [self](detail::child_failed_atom, const caf::actor_addr& addr,
           const std::string& what, const std::string& type) {
      auto child = find(self, addr);
      if (child == nullptr || self->state.stopping)
        return;
      if (note_restart(self, *child, fmt::format("{} on {}", what, type)))
        restart_siblings(self, index_of(self, *child));
    },
    [self](respawn_atom, const std::string& id) {
      if (self->state.stopping)
        return;
      for (auto& c : self->state.children)
        if (c.spec.id == id && !c.hdl)
          respawn(self, c);
    },
    [self](stop_timeout_atom, const caf::actor_addr& addr) {
      auto& st = self->state;
      for (auto& c : st.children)
        if (c.terminating && c.hdl && c.hdl.address() == addr)
          self->send_exit(c.hdl, caf::exit_reason::kill);
      if (st.stopping && st.stop_index > 0) {
        auto& child = st.children[st.stop_index - 1];
        if (child.hdl && child.hdl.address() == addr)
          self->send_exit(child.hdl, caf::exit_reason::kill);
      }
    },
    [self](start_child_atom, child_spec& spec) -> caf::result<child_status> {
      auto& st = self->state;
      if (st.stopping)
        return make_error(errc::not_running, "supervisor is stopping");
      for (auto& c : st.children)
        if (c.spec.id == spec.id)
          return make_error(errc::bad_config,
                            fmt::format("child id '{}' is taken", spec.id));
      st.children.emplace_back();
      auto& child = st.children.back();
      child.spec = std::move(spec);
      if (!start_child(self, child)) {
        auto id = child.spec.id;
        st.children.pop_back();
        return make_error(errc::bad_config,
                          fmt::format("child '{}' did not start", id));
      }
      child_status result;
      result.id = child.spec.id;
      result.handle = child.hdl;
      result.stable = ensure_stable(self, child);
      result.running = true;
      return result;
    },
    [self](terminate_child_atom, const std::string& id) -> caf::result<void> {
      for (auto& c : self->state.children)
        if (c.spec.id == id) {
          c.terminating = true;
          if (!c.hdl) // down already (e.g. waiting for a backoff respawn)
            forget_child(self, c, caf::exit_reason::user_shutdown);
          else
            stop_child(self, c);
          return caf::unit;
        }
      return make_error(errc::name_not_found,
                        fmt::format("no child '{}'", id));
    },
    [self](children_atom) {
      std::vector<child_status> result;
      for (auto& c : self->state.children) {
        child_status s;
        s.id = c.spec.id;
        s.handle = c.hdl;
        s.stable = ensure_stable(self, c);
        s.restarts = c.restarts;
        s.last_failure = c.last_failure;
        s.last_failure_ns
          = c.restarts == 0
              ? 0
              : std::chrono::duration_cast<std::chrono::nanoseconds>(
                  c.last_failure_time.time_since_epoch())
                  .count();
        s.running = static_cast<bool>(c.hdl);
        s.kind = c.spec.kind;
        result.push_back(std::move(s));
      }
      return result;
    },
  };
}

} // namespace

caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_flags flags,
                            std::vector<child_spec> children) {
  // Explicitly unbounded: a supervisor never takes its child spec's bound.
  return troupe::spawn(sys, mailbox_bound{}, supervisor, flags,
                       std::move(children));
}

} // namespace troupe
