// SPDX-License-Identifier: Apache-2.0
#include "cluster/member_view.hpp"

#include <algorithm>
#include <mutex>

namespace troupe::cluster {

std::vector<member> member_view::members() const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  return members_;
}

void member_view::publish(
  std::vector<member> xs, std::vector<caf::node_id> unreachable,
  std::vector<std::pair<caf::node_id, std::string>> ids) {
  {
    std::unique_lock<std::shared_mutex> guard{mtx_};
    members_ = std::move(xs);
    unreachable_ = std::move(unreachable);
    ids_ = std::move(ids);
  }
  published_.notify_all();
}

std::string member_view::member_of(const caf::node_id& nid) const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  for (auto& kvp : ids_)
    if (kvp.first == nid)
      return kvp.second;
  return {};
}

bool member_view::reachable(const caf::node_id& nid) const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  return std::find(unreachable_.begin(), unreachable_.end(), nid)
         == unreachable_.end();
}

bool member_view::up_locked(const caf::node_id& nid) const {
  auto known = std::any_of(ids_.begin(), ids_.end(),
                           [&](auto& kvp) { return kvp.first == nid; });
  return known
         && std::find(unreachable_.begin(), unreachable_.end(), nid)
              == unreachable_.end();
}

bool member_view::up_member(const caf::node_id& nid) const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  return up_locked(nid);
}

bool member_view::await_up_member(
  const caf::node_id& nid, std::chrono::steady_clock::time_point deadline,
  const std::function<bool()>& give_up) const {
  constexpr auto slice = std::chrono::milliseconds{20};
  std::shared_lock<std::shared_mutex> guard{mtx_};
  // Bounded: one slice per turn, and the deadline ends it.
  while (!up_locked(nid)) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline || give_up())
      return false;
    published_.wait_until(guard, std::min(deadline, now + slice));
  }
  return true;
}

bool member_view::await_first(
  std::chrono::steady_clock::time_point deadline) const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  return published_.wait_until(guard, deadline,
                               [this] { return !members_.empty(); });
}

std::vector<caf::actor_addr> member_view::hosted() const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  return hosted_;
}

void member_view::set_hosted(std::vector<caf::actor_addr> xs) {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  hosted_ = std::move(xs);
}

void member_view::clear() {
  {
    std::unique_lock<std::shared_mutex> guard{mtx_};
    members_.clear();
    unreachable_.clear();
    ids_.clear();
    hosted_.clear();
  }
  published_.notify_all();
}

} // namespace troupe::cluster
