// SPDX-License-Identifier: Apache-2.0
// A troupe actor's side of its mailbox: the optional bound (see
// troupe/actor/mailbox_bound.hpp) and the dead letters of an ended actor.
#include "troupe/actor/actor_base.hpp"

#include <atomic>

#include <caf/actor_system.hpp>
#include <caf/make_message.hpp>
#include <caf/system_messages.hpp>
#include <caf/type_nr.hpp>
#include <fmt/format.h>

#include "actor/bound_exempt.hpp"
#include "actor/parent.hpp"
#include "troupe/error.hpp"
#include "troupe/log.hpp"
#include "actor/dead_letters.hpp"

namespace troupe {

const char* to_string(overflow_policy x) noexcept {
  switch (x) {
  case overflow_policy::drop_newest:
    return "drop_newest";
  case overflow_policy::drop_oldest:
    return "drop_oldest";
  case overflow_policy::reject:
    return "reject";
  }
  return "unknown";
}

namespace {

constexpr size_t max_exempt = 8;
std::atomic<const std::type_info*> exempt_types[max_exempt] = {};

} // namespace

void detail::exempt_from_bound(const std::type_info& type) noexcept {
  for (auto& slot : exempt_types) {
    const std::type_info* none = nullptr;
    if (slot.compare_exchange_strong(none, &type) || *none == type)
      return;
  }
}

bool detail::exempt_from_bound_p(const std::type_info& type) noexcept {
  for (auto& slot : exempt_types) {
    auto t = slot.load(std::memory_order_acquire);
    if (t == nullptr)
      return false;
    if (*t == type)
      return true;
  }
  return false;
}

namespace {

/// Whether `x` is a control message: never counted against a bound, never
/// dropped (see `mailbox_bound`). Runs only for bounded mailboxes and for
/// messages to ended actors, so a few type checks are fine.
bool is_control(const caf::mailbox_element& x) {
  // Answers to this actor's own requests: dropping them would leave its
  // response handlers waiting.
  if (x.mid.is_response())
    return true;
  auto& xs = x.content();
  switch (xs.type_token()) {
  case caf::make_type_token<caf::exit_msg>():
  case caf::make_type_token<caf::down_msg>():
  case caf::make_type_token<caf::error>():
  case caf::make_type_token<caf::timeout_msg>():
  case caf::make_type_token<caf::group_down_msg>():
  case caf::make_type_token<caf::open_stream_msg>():
  case caf::make_type_token<caf::upstream_msg>():
  case caf::make_type_token<caf::downstream_msg>():
    return true;
  case caf::make_type_token<caf::atom_value, caf::atom_value, std::string>():
    // CAF's ('sys', 'get', key) introspection.
    return xs.get_as<caf::atom_value>(0) == caf::atom("sys");
  default:
    break;
  }
  if (xs.size() == 0)
    return false;
  if (xs.match_element<caf::atom_value>(0)) {
    auto a = xs.get_as<caf::atom_value>(0);
    return a == mailbox_depth_atom::value ||
           a == detail::child_failed_atom::value ||
           a == detail::child_restarted_atom::value || a == fail_atom::value;
  }
  // Higher layers' events, which the actor subscribed to.
  auto rtti = xs.type(0);
  return rtti.first == 0 && rtti.second != nullptr
         && detail::exempt_from_bound_p(*rtti.second);
}

bool is_one_way(const caf::mailbox_element& x) {
  return !x.mid.is_request() || !x.sender;
}

} // namespace

void actor_base::enqueue(caf::mailbox_element_ptr what,
                         caf::execution_unit* ctx) {
  if (bound_.bounded()) {
    enqueue_bounded(std::move(what), ctx);
    return;
  }
  // CAF drops a one-way message to a closed mailbox without a trace (and
  // answers a request itself); a message racing with the close may go
  // uncounted.
  if (mailbox().closed())
    count_gone(*what);
  super::enqueue(std::move(what), ctx);
}

void actor_base::enqueue_bounded(caf::mailbox_element_ptr what,
                                 caf::execution_unit* ctx) {
  if (is_control(*what)) {
    super::enqueue(std::move(what), ctx);
    return;
  }
  if (mailbox().closed()) {
    count_gone(*what);
    super::enqueue(std::move(what), ctx);
    return;
  }
  auto cap = static_cast<int64_t>(bound_.capacity);
  if (bound_.policy == overflow_policy::drop_oldest) {
    // The actor discards the oldest when it takes them (see `consume`).
    // The count goes up before the push, so the actor never sees it short.
    queued_.fetch_add(1, std::memory_order_relaxed);
    super::enqueue(std::move(what), ctx);
    return;
  }
  // One slot or none, exactly: a CAS rather than add-then-undo, which
  // would refuse a message while another sender's refusal is in flight.
  auto n = queued_.load(std::memory_order_relaxed);
  do {
    if (n >= cap) {
      discard(*what, ctx);
      return;
    }
  } while (!queued_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
  super::enqueue(std::move(what), ctx);
}

caf::invoke_message_result
actor_base::consume_bounded(caf::mailbox_element& x) {
  if (is_control(x))
    return consume_counted(x);
  if (bound_.policy == overflow_policy::drop_oldest &&
      queued_.load(std::memory_order_relaxed) >
          static_cast<int64_t>(bound_.capacity)) {
    // Over the bound: this is the oldest user message waiting; newer ones
    // are behind it.
    queued_.fetch_sub(1, std::memory_order_relaxed);
    discard(x, context());
    return caf::invoke_message_result::dropped;
  }
  // Taken: it no longer waits, so its slot is free while its handler runs.
  queued_.fetch_sub(1, std::memory_order_relaxed);
  auto result = consume_counted(x);
  // A skipped message stays in the mailbox (CAF's cache) and waits again.
  if (result == caf::invoke_message_result::skipped)
    queued_.fetch_add(1, std::memory_order_relaxed);
  return result;
}

void actor_base::discard(caf::mailbox_element& x, caf::execution_unit* ctx) {
  auto dropped = figures_.dropped.fetch_add(1, std::memory_order_relaxed) + 1;
  // One lookup of the node's counts for both of them.
  auto counts = troupe::detail::letters_of(home_system());
  if (counts != nullptr)
    counts->mailbox_dropped.fetch_add(1, std::memory_order_relaxed);
  auto text = [&] {
    return fmt::format("the mailbox of '{}' (actor {}) is full: {} messages "
                       "wait, policy {}",
                       name(), id(), bound_.capacity, to_string(bound_.policy));
  };
  if (is_one_way(x)) {
    if (counts != nullptr)
      counts->count(troupe::detail::dead_letter::mailbox_full);
  } else {
    x.sender->enqueue(caf::make_mailbox_element(
                        caf::strong_actor_ptr{ctrl()}, x.mid.response_id(),
                        {}, make_error(errc::mailbox_full, text())),
                      ctx);
  }
  // The first drop says why; then a line every thousand.
  if (dropped == 1 || dropped % 1000 == 0)
    log(log_level::warn, fmt::format("{} ({} message{} discarded so far)",
                                     text(), dropped, dropped == 1 ? "" : "s"));
}

void actor_base::count_gone(const caf::mailbox_element& x) {
  // CAF answers a request; a system message is no letter, nor a timer the
  // actor set for itself (a supervisor's shutdown timeout, say).
  if (!is_one_way(x) || is_control(x) || x.sender.get() == ctrl())
    return;
  auto n = troupe::detail::count_dead_letter(
      home_system(), troupe::detail::dead_letter::actor_gone);
  if (n == 1 || n % 1000 == 0)
    log(log_level::warn,
        fmt::format("dead letter #{} (actor_gone): a message to '{}' (actor "
                    "{}), which has ended",
                    n, name(), id()));
}

} // namespace troupe
