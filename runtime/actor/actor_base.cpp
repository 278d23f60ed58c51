// SPDX-License-Identifier: Apache-2.0
#include "troupe/actor/actor_base.hpp"

#include <chrono>
#include <string_view>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include <caf/actor_system.hpp>
#include <caf/detail/pretty_type_name.hpp>
#include <caf/make_type_erased_tuple_view.hpp>
#include <caf/type_erased_tuple.hpp>
#include <caf/type_nr.hpp>
#include <caf/uniform_type_info_map.hpp>
#include <fmt/format.h>

#include "actor/cork.hpp"
#include "actor/direct_reply.hpp"
#include "actor/guarded_behavior.hpp"
#include "actor/parent.hpp"
#include "troupe/error.hpp"
#include "troupe/log.hpp"
#include "troupe/wire/rejected_message.hpp"
#include "wire/config_base.hpp"

namespace troupe {

namespace detail {

guarded_behavior::guarded_behavior(actor_base* owner, pointer inner)
  : behavior_impl(inner->timeout()), owner_(owner), inner_(std::move(inner)) {
  begin_ = end_ = nullptr;
}

caf::match_case::result
guarded_behavior::invoke(caf::detail::invoke_result_visitor& f,
                         caf::type_erased_tuple& msg) {
  // The message's own data rather than a caf::message around it, and
  // returned values sent straight back (actor/direct_reply.hpp).
  auto& xs = match_target(msg);
  // troupe's own control messages first: a user handler for any atom would
  // otherwise take them. Every other message costs one type-token read
  // (a constant of its tuple type), which CAF's matching reads anyway. The
  // token says size and types at once: it packs the builtin type numbers
  // (6 bits each) under leading ones, which no longer tuple can produce
  // (it would need type number 63, which no type has).
  static_assert(caf::type_nrs < 63, "a type number of 63 would make tokens "
                                     "of different sizes collide");
  constexpr auto atom_only = caf::make_type_token<caf::atom_value>();
  constexpr auto atom_text
    = caf::make_type_token<caf::atom_value, std::string>();
  auto token = xs.type_token();
  if (token == atom_only
      && xs.get_as<caf::atom_value>(0) == mailbox_depth_atom::value) {
    auto rp = owner_->make_response_promise();
    rp.deliver(owner_->mailbox_depth());
    owner_->uncounted_ = true; // introspection does not count itself
    return caf::match_case::match;
  }
  // A drill ('troupe kill --mode throw'): fail as a handler throw would.
  if (token == atom_text
      && xs.get_as<caf::atom_value>(0) == fail_atom::value) {
    owner_->handle_failure(xs.get_as<std::string>(1), "troupe.kill");
    return caf::match_case::match;
  }
  // What the handler sends to other nodes over direct links leaves in one
  // write when it returns.
  detail::cork_scope cork;
  try {
    caf::match_case::result result;
    if (direct_reply::replaces(f)) {
      direct_reply reply{f, owner_};
      result = inner_->invoke(reply, xs);
    } else {
      result = inner_->invoke(f, xs);
    }
    if (result != caf::match_case::no_match)
      return result;
    // What the user's handlers left: messages the wire layer could not
    // decode. Checked here rather than with an extra behavior, which would
    // cost every actor two more allocations.
    if (xs.empty()) {
      owner_->handle_empty();
      return caf::match_case::match;
    }
    if (xs.size() == 1 && xs.matches(0, 0, &typeid(wire::rejected_message))) {
      owner_->handle_rejected(
        *static_cast<const wire::rejected_message*>(xs.get(0)));
      return caf::match_case::match;
    }
    return caf::match_case::no_match;
  } catch (const std::exception& e) {
    // Read what() here: rethrowing later to get at it costs a second throw.
    owner_->handle_failure(e.what(), xs);
  } catch (...) {
    owner_->handle_failure("unknown exception (not derived from "
                           "std::exception)",
                           xs);
  }
  return caf::match_case::match;
}

void guarded_behavior::handle_timeout() {
  try {
    inner_->handle_timeout();
  } catch (...) {
    auto none = caf::make_type_erased_tuple_view();
    owner_->handle_failure("exception in a timeout handler", none);
  }
}

} // namespace detail

namespace {

/// The text of a handler_failed error: "<what> on <message type>". Plain
/// appends: fmt's format-string parsing costs more than a throw's own
/// bookkeeping here (tools/bench/bench_supervisor, restart).
std::string on_text(const std::string& what, const std::string& type) {
  std::string out;
  out.reserve(what.size() + 4 + type.size());
  out.append(what).append(" on ").append(type);
  return out;
}

std::string sender_node(actor_base* self) {
  auto& src = self->current_sender();
  if (src == nullptr)
    return "an anonymous sender";
  return "node " + caf::to_string(src->node());
}

} // namespace

caf::actor& detail::spawning_parent() noexcept {
  thread_local caf::actor parent;
  return parent;
}

std::string& detail::spawning_path() noexcept {
  thread_local std::string path;
  return path;
}

std::optional<mailbox_bound>& detail::spawning_bound() noexcept {
  thread_local std::optional<mailbox_bound> bound;
  return bound;
}

actor_base::actor_base(caf::actor_config& cfg,
                       std::optional<mailbox_bound> bound)
  : super(cfg),
    parent_(detail::spawning_parent()),
    bound_(bound ? *bound : detail::spawning_bound().value_or(mailbox_bound{})) {
  figures_.started_ns.store(std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::steady_clock::now()
                                .time_since_epoch())
                              .count(),
                            std::memory_order_relaxed);
  set_exit_handler([this](caf::exit_msg& x) {
    if (x.reason == make_error(errc::restart_requested)
        && try_restart_in_place(x.reason))
      return;
    if (x.reason)
      quit(std::move(x.reason)); // CAF's default
  });
}

namespace {

// The CPU's timestamp counter where there is one (a few ns to read, against
// ~20 ns for the steady clock: measured in tools/bench/bench_ping_pong).
inline uint64_t ticks() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  return __rdtsc();
#else
  return static_cast<uint64_t>(
    std::chrono::steady_clock::now().time_since_epoch().count());
#endif
}

struct tick_origin {
  uint64_t ticks0 = ticks();
  std::chrono::steady_clock::time_point time0
    = std::chrono::steady_clock::now();
};

const tick_origin origin;

} // namespace

double ticks_to_ns(uint64_t n) {
#if defined(__x86_64__) || defined(__i386__)
  // Calibrated against the steady clock since the process started.
  auto dt = std::chrono::duration<double, std::nano>(
              std::chrono::steady_clock::now() - origin.time0)
              .count();
  auto dticks = static_cast<double>(ticks() - origin.ticks0);
  return dticks > 0 ? static_cast<double>(n) * dt / dticks : 0.0;
#else
  return static_cast<double>(n);
#endif
}

namespace {

std::atomic<bool> figures_on{true};

} // namespace

void set_actor_figures(bool on) noexcept {
  figures_on.store(on, std::memory_order_relaxed);
}

caf::invoke_message_result actor_base::consume(caf::mailbox_element& x) {
  // Here, beside consume_counted, so that the unbounded default inlines it.
  if (bound_.bounded())
    return consume_bounded(x); // actor/mailbox.cpp
  return consume_counted(x);
}

caf::invoke_message_result
actor_base::consume_counted(caf::mailbox_element& x) {
  if (!figures_on.load(std::memory_order_relaxed))
    return super::consume(x);
  auto& f = figures_;
  auto n = f.consumed.load(std::memory_order_relaxed);
  // Every message is counted; one in `timing_stride` is timed (reading the
  // clock twice per message cost ~5% of a local ping-pong), and the total
  // is extrapolated from the sample.
  if (n % timing_stride != 0) {
    auto result = super::consume(x);
    if (result != caf::invoke_message_result::skipped)
      count_consumed(n);
    return result;
  }
  auto t0 = ticks();
  auto result = super::consume(x);
  if (result == caf::invoke_message_result::skipped)
    return result;
  auto dt = ticks() - t0;
  if (!count_consumed(n))
    return result;
  // Only this thread writes these: plain load + store, no locked add.
  f.handler_ticks_total.store(
    f.handler_ticks_total.load(std::memory_order_relaxed) + dt * timing_stride,
    std::memory_order_relaxed);
  if (dt > f.handler_ticks_max.load(std::memory_order_relaxed))
    f.handler_ticks_max.store(dt, std::memory_order_relaxed);
  return result;
}

bool actor_base::count_consumed(uint64_t n) {
  if (uncounted_) {
    uncounted_ = false;
    return false;
  }
  figures_.consumed.store(n + 1, std::memory_order_relaxed);
  return true;
}

uint64_t actor_base::mailbox_depth() {
  return mailbox().size();
}

bool actor_base::try_restart_in_place(const caf::error&) {
  return false;
}

bool actor_base::can_restart_in_place() const noexcept {
  return false;
}

actor_base::~actor_base() {
  // nop
}

caf::behavior actor_base::guard(caf::behavior bhvr) {
  caf::behavior::impl_ptr guarded{caf::make_counted<detail::guarded_behavior>(
    this, bhvr.as_behavior_impl())};
  caf::behavior result;
  result.assign(std::move(guarded));
  return result;
}

void actor_base::handle_rejected(const wire::rejected_message& x) {
  log(log_level::error,
      fmt::format("actor '{}' (id {}) rejected a message of type '{}' from "
                  "{}: {}",
                  name(), id(), x.type_name, sender_node(this), x.reason));
  auto rp = make_response_promise();
  if (rp.pending() && !rp.async())
    rp.deliver(make_error(errc::rejected_message,
                          fmt::format("type '{}': {}", x.type_name, x.reason)));
}

void actor_base::handle_empty() {
  log(log_level::error,
      fmt::format("actor '{}' (id {}) received an empty message from {}: "
                  "an undecodable message (unknown CAF type or corrupt "
                  "frame), or an empty one sent on purpose",
                  name(), id(), sender_node(this)));
  auto rp = make_response_promise();
  if (rp.pending() && !rp.async())
    rp.deliver(make_error(errc::rejected_message,
                          "empty or undecodable message"));
}

void actor_base::on_failure(failure_handler fn) {
  failure_handler_ = std::move(fn);
}

std::string actor_base::describe_types(const caf::type_erased_tuple& xs) const {
  // Looked up only for a type CAF does not know by number (CAF's own types
  // have no entry there).
  decltype(wire::detail::registry_of(nullptr)) reg = nullptr;
  bool have_reg = false;
  std::string result;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i > 0)
      result += ", ";
    auto rtti = xs.type(i);
    const wire::type_entry* entry = nullptr;
    if (rtti.second != nullptr && !have_reg) {
      reg = wire::detail::registry_of(context());
      have_reg = true;
    }
    if (reg != nullptr && rtti.second != nullptr)
      entry = reg->find(*rtti.second);
    if (entry != nullptr) {
      result += entry->full_name;
      continue;
    }
    auto& name = home_system().types().portable_name(rtti);
    if (name != home_system().types().default_type_name())
      result += name;
    else if (rtti.second != nullptr)
      result += caf::detail::pretty_type_name(*rtti.second);
    else
      result += name;
  }
  return result.empty() ? "<empty>" : result;
}

void actor_base::handle_failure(std::string what,
                                const caf::type_erased_tuple& xs) {
  handle_failure(std::move(what), describe_types(xs));
}

void actor_base::handle_failure(std::string what, std::string message_type) {
  handler_failure out;
  out.what = std::move(what);
  out.message_type = std::move(message_type);
  auto rp = make_response_promise();
  if (!failure_handler_ && parent_ && can_restart_in_place()) {
    auto reason = make_error(errc::handler_failed,
                             on_text(out.what, out.message_type));
    if (take_restart_permit()) {
      // The supervisor answered ahead (and counted this restart in its
      // reservation): restart, tell it, answer, all before this handler
      // call returns. The requester last: CAF runs the job it scheduled
      // last first, so the requester runs next, not the supervisor's
      // bookkeeping (bench_supervisor: p50 4.5 us per cycle instead of
      // 5.0 us with the answer first).
      bool restarted = false;
      try {
        restarted = try_restart_in_place(reason);
      } catch (...) {
        answer_failure(rp, out); // a restart hook threw: the actor ends
        throw;
      }
      send(parent_, detail::child_restarted_atom::value, address(), out.what,
           out.message_type);
      answer_failure(rp, out);
      if (!restarted)
        quit(std::move(reason));
      return;
    }
    // The supervisor decides; until it does, nothing else is taken from the
    // mailbox (an awaited response comes before every other message). Asked
    // first, so that it decides while the requester hears of the failure.
    request(parent_, caf::infinite, detail::child_failed_atom::value,
            address(), out.what, out.message_type)
      .await([this, reason](caf::atom_value order) mutable {
               if (order != detail::restart_atom::value
                   || !try_restart_in_place(reason))
                 quit(std::move(reason));
             },
             [this, reason](caf::error&) mutable {
               // The supervisor is gone: nobody may restart this actor.
               quit(std::move(reason));
             });
    answer_failure(rp, out);
    return;
  }
  answer_failure(rp, out);
  if (failure_handler_) {
    // Still inside the catch block: the exception is the current one.
    out.exception = std::current_exception();
    failure_handler_(this, out);
    return;
  }
  default_failure(out);
}

bool actor_base::take_restart_permit() noexcept {
  // Against the supervisor taking them back: whichever comes first wins.
  auto n = restart_permits_.load(std::memory_order_relaxed);
  while (n > 0)
    if (restart_permits_.compare_exchange_weak(n, n - 1,
                                               std::memory_order_acq_rel,
                                               std::memory_order_relaxed))
      return true;
  return false;
}

void actor_base::answer_failure(caf::response_promise& rp,
                                const handler_failure& out) {
  // The requester of the failing message hears about it at once.
  if (rp.pending() && !rp.async()) {
    // "'<actor>' failed on <message type>: <what>"
    std::string_view actor{name()};
    std::string text;
    text.reserve(actor.size() + out.message_type.size() + out.what.size()
                 + 14);
    text.append(1, '\'').append(actor).append("' failed on ");
    text.append(out.message_type).append(": ").append(out.what);
    rp.deliver(make_error(errc::handler_failed, std::move(text)));
  }
}

void actor_base::default_failure(handler_failure& failure) {
  log(log_level::error,
      fmt::format("actor '{}' (id {}) failed on a message of type {}: {}",
                  name(), id(), failure.message_type, failure.what));
  quit(make_error(errc::handler_failed,
                  on_text(failure.what, failure.message_type)));
}

} // namespace troupe
