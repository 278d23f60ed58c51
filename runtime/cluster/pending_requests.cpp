// SPDX-License-Identifier: Apache-2.0
#include "cluster/pending_requests.hpp"

#include <vector>

#include <caf/actor_control_block.hpp>
#include <caf/mailbox_element.hpp>

namespace troupe::cluster {

caf::message_id pending_requests::add(const caf::node_id& target_node,
                                      caf::strong_actor_ptr sender,
                                      caf::message_id mid) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto id = ++next_ & caf::message_id::request_id_mask;
  requests_.emplace(id, request{target_node, std::move(sender), mid,
                                std::chrono::steady_clock::now()});
  // Same category (priority) as the original request, new request number.
  return caf::message_id{
    (mid.integer_value() & ~caf::message_id::request_id_mask) | id};
}

bool pending_requests::take(caf::message_id response_id,
                            caf::strong_actor_ptr& sender,
                            caf::message_id& mid) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = requests_.find(response_id.request_id().integer_value());
  if (i == requests_.end())
    return false;
  sender = std::move(i->second.sender);
  mid = i->second.mid;
  requests_.erase(i);
  return true;
}

size_t pending_requests::fail(const caf::node_id& target_node,
                              const caf::error& err) {
  std::vector<request> failed;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto i = requests_.begin(); i != requests_.end();) {
      if (i->second.target == target_node) {
        failed.emplace_back(std::move(i->second));
        i = requests_.erase(i);
      } else {
        ++i;
      }
    }
  }
  // Counted before the errors go out, so a requester that sees one also
  // sees the count.
  failed_ += failed.size();
  for (auto& x : failed)
    if (x.sender)
      x.sender->enqueue(caf::make_mailbox_element(nullptr,
                                                  x.mid.response_id(), {},
                                                  err),
                        nullptr);
  return failed.size();
}

size_t pending_requests::expire(std::chrono::steady_clock::duration age) {
  auto limit = std::chrono::steady_clock::now() - age;
  std::lock_guard<std::mutex> guard{mtx_};
  size_t n = 0;
  for (auto i = requests_.begin(); i != requests_.end();) {
    if (i->second.since < limit) {
      i = requests_.erase(i);
      ++n;
    } else {
      ++i;
    }
  }
  return n;
}

void pending_requests::clear() {
  std::lock_guard<std::mutex> guard{mtx_};
  requests_.clear();
}

} // namespace troupe::cluster
