// SPDX-License-Identifier: Apache-2.0
#include "cluster/flow_control.hpp"

#include <algorithm>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/make_message.hpp>

#include "troupe/wire/cluster.pb.h"
#include "troupe/wire/proto.hpp"

namespace troupe::cluster {

void flow_control::open(const caf::node_id& nid, caf::actor echo) {
  auto f = std::make_shared<flow>();
  f->echo = std::move(echo);
  std::shared_ptr<flow> old;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& slot = flows_[nid];
    old = std::exchange(slot, f);
  }
  if (old) {
    std::lock_guard<std::mutex> guard{old->mtx};
    old->closed = true;
    old->cv.notify_all();
  }
}

void flow_control::close(const caf::node_id& nid) {
  std::shared_ptr<flow> f;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = flows_.find(nid);
    if (i == flows_.end())
      return;
    f = std::move(i->second);
    flows_.erase(i);
  }
  std::lock_guard<std::mutex> guard{f->mtx};
  f->closed = true;
  f->cv.notify_all();
}

std::shared_ptr<flow_control::flow>
flow_control::find(const caf::node_id& nid) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = flows_.find(nid);
  return i != flows_.end() ? i->second : nullptr;
}

bool flow_control::admit(const caf::node_id& nid, uint64_t& marker) {
  marker = 0;
  auto f = find(nid);
  if (!f) // not a member (yet): nothing to count against
    return true;
  std::unique_lock<std::mutex> guard{f->mtx};
  if (f->sent - f->acked >= window) {
    ++waits_;
    // No deadline: the node acks from its network thread, so only a node
    // that stopped running stops acking, and that node is marked down
    // (closing the flow) within the failure timeout.
    f->cv.wait(guard,
               [&] { return f->closed || f->sent - f->acked < window; });
  }
  if (f->closed)
    return false;
  ++f->sent;
  if (f->sent - f->marked >= std::max<size_t>(window / 4, 1)) {
    f->marked = f->sent;
    marker = f->sent;
  }
  return true;
}

void flow_control::mark(const caf::node_id& nid, uint64_t seq,
                        caf::execution_unit* ctx) {
  auto f = find(nid);
  if (!f || !f->echo || !actor)
    return;
  wire::FlowMarker m;
  m.set_seq(seq);
  auto id = (++next_marker_id_ & caf::message_id::request_id_mask) | 1;
  f->echo->enqueue(caf::make_mailbox_element(
                     caf::actor_cast<caf::strong_actor_ptr>(actor),
                     caf::make_message_id(id), {}, std::move(m)),
                   ctx);
}

void flow_control::ack(const caf::node_id& nid, uint64_t seq) {
  auto f = find(nid);
  if (!f)
    return;
  std::lock_guard<std::mutex> guard{f->mtx};
  if (seq > f->acked) {
    f->acked = seq;
    f->cv.notify_all();
  }
}

void flow_control::clear() {
  std::unordered_map<caf::node_id, std::shared_ptr<flow>> flows;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    flows.swap(flows_);
  }
  for (auto& kvp : flows) {
    std::lock_guard<std::mutex> guard{kvp.second->mtx};
    kvp.second->closed = true;
    kvp.second->echo = nullptr;
    kvp.second->cv.notify_all();
  }
  actor = nullptr;
}

} // namespace troupe::cluster
