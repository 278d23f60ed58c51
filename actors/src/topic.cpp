// SPDX-License-Identifier: Apache-2.0
#include "troupe/actors/topic.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include <caf/message_view.hpp>
#include <caf/scoped_actor.hpp>

#include "troupe/actor/spawn.hpp"
#include "troupe/error.hpp"
#include "troupe/log.hpp"
#include "troupe/node/node.hpp"

namespace troupe::actors {

namespace {

/// Mediator -> mediator: `(topic_fwd_atom, payload...)`.
using topic_fwd_atom = caf::atom_constant<caf::atom("trp_tfwd")>;

/// Mediator -> mediator: `(topic_count_atom, node, subscribers there)`.
using topic_count_atom = caf::atom_constant<caf::atom("trp_tcnt")>;

struct peer {
  caf::actor hdl;
  uint64_t count = 0;
};

struct mediator_state {
  static inline const char* name = "troupe.actors.topic";
  std::string prefix; // "troupe.topic/<name>@"
  std::string node;
  std::vector<caf::actor> subscribers;
  std::map<std::string, peer> peers; // by node name
};

using mediator_actor = stateful_actor<mediator_state>;

void tell_count(mediator_actor* self, const caf::actor& to) {
  auto& st = self->state;
  self->send(to, topic_count_atom::value, st.node,
             static_cast<uint64_t>(st.subscribers.size()));
}

void tell_count_all(mediator_actor* self) {
  for (auto& kvp : self->state.peers)
    if (kvp.second.hdl)
      tell_count(self, kvp.second.hdl);
}

void deliver_local(mediator_actor* self, const caf::message& payload) {
  for (auto& s : self->state.subscribers)
    self->send(s, payload);
}

caf::behavior mediator(mediator_actor* self, std::string prefix,
                       std::string node) {
  auto& st = self->state;
  st.prefix = std::move(prefix);
  st.node = std::move(node);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& subs = self->state.subscribers;
    auto n = subs.size();
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&](const caf::actor& x) {
                                return x.address() == dm.source;
                              }),
               subs.end());
    if (subs.size() != n)
      tell_count_all(self);
  });
  self->set_default_handler(
    [self](caf::scheduled_actor*,
           caf::message_view& x) -> caf::result<caf::message> {
      auto msg = x.move_content_to_message();
      if (msg.size() > 1 && msg.match_element<caf::atom_value>(0)
          && msg.get_as<caf::atom_value>(0) == topic_fwd_atom::value) {
        deliver_local(self, msg.drop(1));
        return caf::message{};
      }
      deliver_local(self, msg);
      auto fwd = caf::make_message(topic_fwd_atom::value) + msg;
      for (auto& kvp : self->state.peers)
        if (kvp.second.hdl)
          self->send(kvp.second.hdl, fwd);
      return caf::message{};
    });
  return {
    [self](subscribe_atom, caf::actor& s) {
      auto& subs = self->state.subscribers;
      if (!s || std::find(subs.begin(), subs.end(), s) != subs.end())
        return;
      self->monitor(s);
      subs.push_back(std::move(s));
      tell_count_all(self);
    },
    [self](unsubscribe_atom, const caf::actor& s) {
      auto& subs = self->state.subscribers;
      auto i = std::find(subs.begin(), subs.end(), s);
      if (i == subs.end())
        return;
      self->demonitor(s);
      subs.erase(i);
      tell_count_all(self);
    },
    [self](topic_count_atom, const std::string& node, uint64_t count) {
      if (node != self->state.node)
        self->state.peers[node].count = count;
    },
    [self](topic_subscribers_atom) {
      auto& st = self->state;
      std::map<std::string, uint64_t> result;
      result[st.node] = st.subscribers.size();
      for (auto& kvp : st.peers)
        if (kvp.second.hdl)
          result[kvp.first] = kvp.second.count;
      return result;
    },
    [self](const troupe::name_event& ev) {
      auto& st = self->state;
      if (ev.name.compare(0, st.prefix.size(), st.prefix) != 0)
        return;
      auto node = ev.name.substr(st.prefix.size());
      if (node == st.node)
        return;
      if (!ev.holder) {
        st.peers.erase(node);
        return;
      }
      auto& p = st.peers[node];
      if (p.hdl != ev.holder) {
        p.hdl = ev.holder;
        tell_count(self, p.hdl);
      }
    },
    [self](const troupe::member_event& ev) {
      auto status = ev.member.status;
      if (status == member_status::down || status == member_status::left)
        self->state.peers.erase(ev.member.name);
    },
  };
}

} // namespace

topic::topic(troupe::node& n, std::string name)
  : node_(&n), name_(std::move(name)) {
  if (name_.empty())
    throw std::invalid_argument("a topic needs a name");
  if (!n.running())
    throw std::logic_error("topic '" + name_ + "': the node is not running");
  auto prefix = "troupe.topic/" + name_ + "@";
  hdl_ = n.spawn(mediator, prefix, n.name());
  if (auto err = n.register_global(prefix + n.name(), hdl_))
    throw std::runtime_error("topic '" + name_ + "': " + describe(err));
  n.subscribe_members(hdl_);
  n.subscribe_names(hdl_);
}

topic::~topic() {
  caf::anon_send_exit(hdl_, caf::exit_reason::user_shutdown);
}

caf::expected<std::map<std::string, uint64_t>> topic::subscribers() const {
  caf::scoped_actor self{node_->system()};
  caf::expected<std::map<std::string, uint64_t>> result{
    std::map<std::string, uint64_t>{}};
  self->request(hdl_, std::chrono::seconds{5}, topic_subscribers_atom::value)
    .receive([&](std::map<std::string, uint64_t>& x) { result = std::move(x); },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

} // namespace troupe::actors
