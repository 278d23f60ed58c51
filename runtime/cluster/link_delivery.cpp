// SPDX-License-Identifier: Apache-2.0
// What a direct link's frame becomes: a message to the actor it names (or a
// bounce to a waiting requester, or a dead letter), from a sender resolved
// on this node: a mirror of the peer's actor, one of this node's, or a BASP
// proxy of a third node's.
#include "cluster/link_reader.hpp"

#include <caf/actor_registry.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/proxy_registry.hpp>
#include <caf/sec.hpp>
#include <fmt/format.h>

#include "actor/dead_letters.hpp"
#include "cluster/core.hpp"
#include "cluster/ref.hpp"
#include "troupe/error.hpp"
#include "wire/config_base.hpp"

namespace troupe::cluster {

bool link_reader::deliver(const char* data, size_t size) {
  link_inline_unit::delivering scope{unit_};
  link_frame::message f;
  if (auto why = link_frame::parse_message(&unit_, layer_.types_, data, size,
                                           f);
      !why.empty()) {
    drop(why);
    return false;
  }
  auto mid = f.mid;
  auto sender = sender_of(f);
  ++layer_.frames_in;
  auto target = target_of(f.dest);
  if (!target) {
    if (mid.is_request() && sender)
      sender->enqueue(caf::make_mailbox_element(
                        nullptr, mid.response_id(), {},
                        caf::make_error(caf::sec::request_receiver_down)),
                      &unit_);
    else if (!mid.is_response())
      troupe::detail::count_dead_letter(sys_,
                                      troupe::detail::dead_letter::actor_gone);
    return true;
  }
  target->enqueue(caf::make_mailbox_element(std::move(sender), mid, {},
                                            std::move(f.content)),
                  &unit_);
  return true;
}

caf::strong_actor_ptr link_reader::sender_of(const link_frame::message& f) {
  switch (f.sender_kind) {
    case link_frame::sender_of_writer:
      return mirror(f.sender);
    case link_frame::sender_of_reader:
      return sys_.registry().get(f.sender);
    case link_frame::sender_full:
      if (f.sender_node == sys_.node())
        return sys_.registry().get(f.sender);
      if (f.sender_node == l_->peer)
        return mirror(f.sender);
      if (layer_.proxies_ != nullptr)
        return layer_.proxies_->get_or_put(f.sender_node, f.sender);
      return nullptr;
    default:
      return nullptr;
  }
}

caf::strong_actor_ptr link_reader::target_of(caf::actor_id dest) {
  caf::strong_actor_ptr target;
  if (dest == last_dest_)
    target = last_target_.lock();
  if (!target) {
    target = sys_.registry().get(dest);
    last_dest_ = dest;
    last_target_ = caf::weak_actor_ptr{target.get()};
  }
  return target;
}

caf::strong_actor_ptr link_reader::mirror(caf::actor_id aid) {
  auto i = mirrors_.find(aid);
  if (i != mirrors_.end())
    return i->second;
  auto hdl = make_mirror(sys_, core_, l_->peer, aid);
  mirrors_.emplace(aid, hdl);
  return hdl;
}

void link_reader::retire_mirrors() {
  for (auto& kvp : mirrors_)
    retire_mirror(kvp.second,
                  make_error(errc::node_down,
                             fmt::format("the link from '{}' closed",
                                         core_->view.member_of(l_->peer))));
  mirrors_.clear();
}

} // namespace troupe::cluster
