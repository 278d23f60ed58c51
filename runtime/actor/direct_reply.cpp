// SPDX-License-Identifier: Apache-2.0
#include "actor/direct_reply.hpp"

#include <atomic>
#include <typeinfo>

#include <caf/detail/default_invoke_result_visitor.hpp>
#include <caf/detail/message_data.hpp>
#include <caf/detail/profiled_send.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/message.hpp>
#include <caf/no_stages.hpp>
#include <caf/scheduled_actor.hpp>

namespace troupe::detail {

caf::type_erased_tuple& match_target(caf::type_erased_tuple& xs) noexcept {
  // One type_info per class in a process: caf::message's lives in
  // libcaf_core, where its vtable is.
  if (&typeid(xs) != &typeid(caf::message))
    return xs;
  auto& data = static_cast<caf::message&>(xs).cvals();
  if (data == nullptr)
    return xs;
  // The const view of the data, as CAF's own const `content()` gives it;
  // mutable access still goes through the handler's copy-on-share check.
  return const_cast<caf::detail::message_data&>(*data);
}

bool direct_reply::replaces(
  const caf::detail::invoke_result_visitor& f) noexcept {
  using caf_visitor
    = caf::detail::default_invoke_result_visitor<caf::scheduled_actor>;
  // A template's type_info may exist once in libcaf_core and once here, so
  // the first match compares names; later ones compare the address seen.
  static std::atomic<const std::type_info*> seen{nullptr};
  auto& type = typeid(f);
  if (&type == seen.load(std::memory_order_relaxed))
    return true;
  if (type != typeid(caf_visitor))
    return false;
  seen.store(&type, std::memory_order_relaxed);
  return true;
}

void direct_reply::operator()() {
  next_();
}

void direct_reply::operator()(caf::error& x) {
  next_(x);
}

void direct_reply::operator()(const caf::none_t& x) {
  next_(x);
}

void direct_reply::operator()(caf::message& x) {
  auto* e = self_->current_mailbox_element();
  // What make_response_promise and response_promise::deliver_impl would do
  // differently: nothing to answer, forwarding stages, a response (never
  // answered), or no sender.
  if (e == nullptr || e->mid.is_answered() || e->mid.is_response()
      || !e->stages.empty() || e->sender == nullptr) {
    next_(x);
    return;
  }
  // As the promise does: the sender leaves the element.
  auto dest = std::move(e->sender);
  auto mid = e->mid;
  // CAF drops an empty result of an asynchronous message.
  if (x.empty() && mid.is_async())
    return;
  caf::detail::profiled_send(self_, self_->ctrl(), dest, mid.response_id(),
                             caf::no_stages, self_->context(), std::move(x));
}

} // namespace troupe::detail
