#include "cluster/core.hpp"
#include "transport/endpoint.hpp"
#include "cluster/link.hpp"
#include "actor/bound_exempt.hpp"

#include <algorithm>

#include <caf/actor_cast.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/make_message.hpp>

#include "troupe/wire/cluster.pb.h"
#include "troupe/wire/proto.hpp"

namespace troupe {

const char* to_string(member_status x) noexcept {
  switch (x) {
    case member_status::joining:
      return "joining";
    case member_status::up:
      return "up";
    case member_status::down:
      return "down";
    case member_status::left:
      return "left";
    case member_status::removed:
      return "removed";
  }
  return "unknown";
}

} // namespace troupe

namespace troupe::cluster {

namespace {

// A subscriber gets these whatever bound its mailbox has.
const bool events_exempt_from_bounds = [] {
  detail::exempt_from_bound(typeid(member_event));
  detail::exempt_from_bound(typeid(name_event));
  return true;
}();

} // namespace

wire::Member to_wire(const member& m) {
  wire::Member x;
  x.set_name(m.name);
  x.set_incarnation(m.incarnation);
  x.set_host(m.host);
  x.set_port(m.port);
  x.set_status(static_cast<wire::MemberStatus>(m.status));
  x.set_load(m.load);
  for (auto& t : m.actor_types)
    x.add_actor_types(t);
  return x;
}

member from_wire(const wire::Member& x) {
  member m;
  m.name = x.name();
  m.incarnation = x.incarnation();
  m.host = x.host();
  m.port = static_cast<uint16_t>(x.port());
  m.status = static_cast<member_status>(x.status());
  m.load = x.load();
  m.actor_types.assign(x.actor_types().begin(), x.actor_types().end());
  return m;
}

std::vector<member> core::members() const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  return members_;
}

void core::set_members(std::vector<member> xs,
                       std::vector<caf::node_id> unreachable,
                       std::vector<std::pair<caf::node_id, std::string>> ids) {
  {
    std::unique_lock<std::shared_mutex> guard{mtx_};
    members_ = std::move(xs);
    unreachable_ = std::move(unreachable);
    ids_ = std::move(ids);
  }
  members_cv_.notify_all();
}

std::string core::member_of(const caf::node_id& nid) const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  for (auto& kvp : ids_)
    if (kvp.first == nid)
      return kvp.second;
  return {};
}

std::vector<caf::actor_addr> core::hosted() const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  return hosted_;
}

void core::set_hosted(std::vector<caf::actor_addr> xs) {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  hosted_ = std::move(xs);
}

bool core::reachable(const caf::node_id& nid) const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  return std::find(unreachable_.begin(), unreachable_.end(), nid)
         == unreachable_.end();
}

bool core::await_up_member(const caf::node_id& nid,
                           std::chrono::steady_clock::time_point deadline,
                           const std::function<bool()>& give_up) const {
  auto up = [&] {
    auto known = std::any_of(ids_.begin(), ids_.end(),
                             [&](auto& kvp) { return kvp.first == nid; });
    return known
           && std::find(unreachable_.begin(), unreachable_.end(), nid)
                == unreachable_.end();
  };
  constexpr auto slice = std::chrono::milliseconds{20};
  std::shared_lock<std::shared_mutex> guard{mtx_};
  // Bounded: one slice per turn, and the deadline ends it.
  while (!up()) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline || give_up())
      return false;
    members_cv_.wait_until(guard, std::min(deadline, now + slice));
  }
  return true;
}

caf::actor core::whereis(const std::string& name) const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  auto i = names_.find(name);
  return i != names_.end() ? i->second.hdl : caf::actor{};
}

std::optional<name_entry> core::entry(const std::string& name) const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  auto i = names_.find(name);
  if (i == names_.end())
    return std::nullopt;
  return i->second;
}

std::unordered_map<std::string, name_entry> core::names() const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  return names_;
}

std::optional<name_entry> core::put_name(const std::string& name, name_entry x,
                                         bool& installed) {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  auto i = names_.find(name);
  if (i == names_.end()) {
    names_.emplace(name, std::move(x));
    installed = true;
    return std::nullopt;
  }
  if (i->second.hdl == x.hdl) {
    // The same actor announced again (a rejoin): keep the later stamp.
    installed = false;
    if (wins(x, i->second))
      i->second = std::move(x);
    return std::nullopt;
  }
  if (wins(x, i->second)) {
    auto loser = std::move(i->second);
    i->second = std::move(x);
    installed = true;
    return loser;
  }
  installed = false;
  return x;
}

bool core::drop_name(const std::string& name, const caf::actor_addr& hdl) {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  auto i = names_.find(name);
  if (i == names_.end() || (hdl && i->second.hdl.address() != hdl))
    return false;
  names_.erase(i);
  return true;
}

std::vector<std::string> core::drop_names_of(const std::string& owner) {
  std::vector<std::string> result;
  std::unique_lock<std::shared_mutex> guard{mtx_};
  for (auto i = names_.begin(); i != names_.end();) {
    if (i->second.owner == owner) {
      result.emplace_back(i->first);
      i = names_.erase(i);
    } else {
      ++i;
    }
  }
  return result;
}

void core::reown_names(const std::string& owner, uint64_t incarnation) {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  for (auto& kvp : names_)
    if (kvp.second.owner == owner)
      kvp.second.owner_incarnation = incarnation;
}

caf::message_id core::add_pending(const caf::node_id& target_node,
                                  caf::strong_actor_ptr sender,
                                  caf::message_id mid) {
  std::lock_guard<std::mutex> guard{pending_mtx_};
  auto id = ++next_request_ & caf::message_id::request_id_mask;
  pending_.emplace(id, pending{target_node, std::move(sender), mid,
                               std::chrono::steady_clock::now()});
  // Same category (priority) as the original request, new request number.
  return caf::message_id{
    (mid.integer_value() & ~caf::message_id::request_id_mask) | id};
}

bool core::take_pending(caf::message_id response_id,
                        caf::strong_actor_ptr& sender, caf::message_id& mid) {
  std::lock_guard<std::mutex> guard{pending_mtx_};
  auto i = pending_.find(response_id.request_id().integer_value());
  if (i == pending_.end())
    return false;
  sender = std::move(i->second.sender);
  mid = i->second.mid;
  pending_.erase(i);
  return true;
}

size_t core::fail_pending(const caf::node_id& target_node,
                          const caf::error& err) {
  std::vector<pending> failed;
  {
    std::lock_guard<std::mutex> guard{pending_mtx_};
    for (auto i = pending_.begin(); i != pending_.end();) {
      if (i->second.target == target_node) {
        failed.emplace_back(std::move(i->second));
        i = pending_.erase(i);
      } else {
        ++i;
      }
    }
  }
  // Counted before the errors go out, so a requester that sees one also
  // sees the count.
  failed_requests += failed.size();
  for (auto& x : failed)
    if (x.sender)
      x.sender->enqueue(caf::make_mailbox_element(nullptr,
                                                  x.mid.response_id(), {},
                                                  err),
                        nullptr);
  return failed.size();
}

size_t core::expire_pending(std::chrono::steady_clock::duration age) {
  auto limit = std::chrono::steady_clock::now() - age;
  std::lock_guard<std::mutex> guard{pending_mtx_};
  size_t n = 0;
  for (auto i = pending_.begin(); i != pending_.end();) {
    if (i->second.since < limit) {
      i = pending_.erase(i);
      ++n;
    } else {
      ++i;
    }
  }
  return n;
}

void core::flow_open(const caf::node_id& nid, caf::actor echo,
                     const std::string& link_host, uint16_t link_port) {
  if (links && link_port != 0)
    links->open(nid, link_host, link_port);
  auto f = std::make_shared<flow>();
  f->echo = std::move(echo);
  std::shared_ptr<flow> old;
  {
    std::lock_guard<std::mutex> guard{flows_mtx_};
    auto& slot = flows_[nid];
    old = std::exchange(slot, f);
  }
  if (old) {
    std::lock_guard<std::mutex> guard{old->mtx};
    old->closed = true;
    old->cv.notify_all();
  }
}

void core::flow_close(const caf::node_id& nid) {
  if (links)
    links->close(nid);
  std::shared_ptr<flow> f;
  {
    std::lock_guard<std::mutex> guard{flows_mtx_};
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

std::shared_ptr<core::flow> core::find_flow(const caf::node_id& nid) const {
  std::lock_guard<std::mutex> guard{flows_mtx_};
  auto i = flows_.find(nid);
  return i != flows_.end() ? i->second : nullptr;
}

bool core::flow_admit(const caf::node_id& nid, uint64_t& marker) {
  marker = 0;
  auto f = find_flow(nid);
  if (!f) // not a member (yet): nothing to count against
    return true;
  std::unique_lock<std::mutex> guard{f->mtx};
  if (f->sent - f->acked >= flow_window) {
    ++flow_waits;
    // No deadline: the node acks from its network thread, so only a node
    // that stopped running stops acking, and that node is marked down
    // (closing the flow) within the failure timeout.
    f->cv.wait(guard, [&] {
      return f->closed || f->sent - f->acked < flow_window;
    });
  }
  if (f->closed)
    return false;
  ++f->sent;
  if (f->sent - f->marked >= std::max<size_t>(flow_window / 4, 1)) {
    f->marked = f->sent;
    marker = f->sent;
  }
  return true;
}

void core::flow_mark(const caf::node_id& nid, uint64_t seq,
                     caf::execution_unit* ctx) {
  auto f = find_flow(nid);
  if (!f || !f->echo || !flow_actor)
    return;
  wire::FlowMarker m;
  m.set_seq(seq);
  auto id = (++next_marker_id_ & caf::message_id::request_id_mask) | 1;
  f->echo->enqueue(caf::make_mailbox_element(
                     caf::actor_cast<caf::strong_actor_ptr>(flow_actor),
                     caf::make_message_id(id), {}, std::move(m)),
                   ctx);
}

void core::flow_ack(const caf::node_id& nid, uint64_t seq) {
  auto f = find_flow(nid);
  if (!f)
    return;
  std::lock_guard<std::mutex> guard{f->mtx};
  if (seq > f->acked) {
    f->acked = seq;
    f->cv.notify_all();
  }
}

void core::clear() {
  // The layer stays (senders may still hold `links`); stopped, it refuses.
  if (links)
    links->stop();
  if (net)
    net->stop();
  responder = nullptr;
  directory = nullptr;
  {
    std::unique_lock<std::shared_mutex> guard{mtx_};
    names_.clear();
    members_.clear();
    unreachable_.clear();
    ids_.clear();
    hosted_.clear();
  }
  {
    std::lock_guard<std::mutex> guard{pending_mtx_};
    pending_.clear();
  }
  std::unordered_map<caf::node_id, std::shared_ptr<flow>> flows;
  {
    std::lock_guard<std::mutex> guard{flows_mtx_};
    flows.swap(flows_);
  }
  for (auto& kvp : flows) {
    std::lock_guard<std::mutex> guard{kvp.second->mtx};
    kvp.second->closed = true;
    kvp.second->echo = nullptr;
    kvp.second->cv.notify_all();
  }
  flow_actor = nullptr;
}

void core::add_factory(std::string type, actor_factory f) {
  std::lock_guard<std::mutex> guard{factories_mtx_};
  factories_[std::move(type)] = std::move(f);
}

actor_factory core::factory(const std::string& type) const {
  std::lock_guard<std::mutex> guard{factories_mtx_};
  auto i = factories_.find(type);
  return i != factories_.end() ? i->second : actor_factory{};
}

std::vector<std::string> core::factory_names() const {
  std::vector<std::string> result;
  std::lock_guard<std::mutex> guard{factories_mtx_};
  for (auto& kvp : factories_)
    result.emplace_back(kvp.first);
  std::sort(result.begin(), result.end());
  return result;
}

} // namespace troupe::cluster
