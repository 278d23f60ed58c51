// SPDX-License-Identifier: Apache-2.0
#include "cluster/ref.hpp"
#include "cluster/link.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_config.hpp>
#include <caf/actor_system.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/make_actor.hpp>
#include <caf/monitorable_actor.hpp>
#include <caf/proxy_registry.hpp>
#include <fmt/format.h>

#include "troupe/error.hpp"
#include "troupe/log.hpp"
#include "troupe/wire/cluster.pb.h"
#include "troupe/wire/proto.hpp"
#include "actor/dead_letters.hpp"
#include "wire/config_base.hpp"

namespace troupe::cluster {

namespace {

class ref_actor final : public caf::monitorable_actor {
public:
  ref_actor(caf::actor_config& cfg, std::shared_ptr<core> c, std::string name,
            caf::actor fixed, bool mirror = false)
    : caf::monitorable_actor(cfg),
      core_(std::move(c)),
      name_(std::move(name)),
      fixed_(std::move(fixed)),
      mirror_(mirror) {
    // A handle, not an actor of this node: a node's shutdown sweep (which
    // skips hidden actors) must not send it an exit, which it would
    // forward to the actor it stands for.
    setf(is_hidden_flag);
  }

  const char* name() const override {
    return mirror_ ? "troupe.mirror" : "troupe.ref";
  }

  /// Ends a mirror (its link closed): monitors and links see `reason`.
  void retire(caf::error reason) {
    cleanup(std::move(reason), nullptr);
  }

  /// A monitor or link on a mirror must also fire when the remote actor
  /// ends while its node lives: the first one makes the mirror watch CAF's
  /// proxy of that actor (which BASP tells when it ends, or its node goes).
  /// Not so for other troupe handles: they are the reply address of the
  /// requests they forward (registered under their id for answers over a
  /// link), and must outlive the actor to pass on its last answers.
  void attach(caf::attachable_ptr ptr) override {
    caf::monitorable_actor::attach(std::move(ptr));
    if (mirror_ && !watching_.exchange(true))
      watch_remote();
  }

  void enqueue(caf::mailbox_element_ptr what,
               caf::execution_unit* ctx) override {
    if (what->mid.is_response() && !mirror_) {
      // The answer to a request forwarded to another node: hand it to the
      // original requester under the original request's id. (A mirror
      // never sends requests under its own address: answers to it are
      // answers to its remote actor, and go there.)
      caf::strong_actor_ptr sender;
      caf::message_id mid;
      if (core_->pending.take(what->mid, sender, mid) && sender) {
        what->mid = mid.response_id();
        sender->enqueue(std::move(what), ctx);
      }
      return;
    }
    caf::actor target;
    caf::node_id nid;
    caf::actor_id aid;
    if (mirror_) {
      // A mirror stands for the remote actor with its own address.
      nid = node();
      aid = id();
    } else {
      target = name_.empty() ? fixed_ : core_->names.whereis(name_);
      if (!target) {
        refuse(what, ctx,
               make_error(errc::name_not_found,
                          fmt::format("no actor holds the cluster name '{}'",
                                      name_)));
        return;
      }
      nid = target.node();
      aid = target.id();
      // This node's actor, or one of another node in this very process
      // (not a proxy): hand it over directly.
      if (nid == home_system().node()
          || &target->home_system() != &home_system()) {
        // CAF drops a one-way message to an ended actor without a trace.
        if (!what->mid.is_request()
            && target->getf(caf::abstract_actor::is_terminated_flag)) {
          count(troupe::detail::dead_letter::actor_gone,
                fmt::format("'{}' has ended",
                            name_.empty() ? fmt::format("actor {}", aid)
                                          : name_));
          return;
        }
        target->enqueue(std::move(what), ctx);
        return;
      }
    }
    if (!core_->view.reachable(nid)) {
      refuse(what, ctx, down_error(aid));
      return;
    }
    if (auto l = core_->links ? core_->links->find_or_dial(nid) : nullptr)
      if (send_link(l, aid, nid, what, ctx))
        return;
    // No link, or a message a link cannot carry (a forwarding stack).
    if (mirror_) {
      // CAF's proxy of the actor this mirror stands for; a request through
      // it is remembered like any other, so it fails when the node goes.
      auto proxy = remote_proxy();
      if (!proxy) {
        refuse(what, ctx, down_error(aid));
        return;
      }
      target = caf::actor_cast<caf::actor>(std::move(proxy));
    }
    uint64_t marker = 0;
    if (!core_->flow.admit(nid, marker)) {
      // The node went down while this sender waited for the window.
      refuse(what, ctx, down_error(aid));
      return;
    }
    if (!what->mid.is_request() || !what->sender) {
      target->enqueue(std::move(what), ctx);
      if (marker != 0)
        core_->flow.mark(nid, marker, ctx);
      return;
    }
    auto original = what->mid;
    what->mid = core_->pending.add(nid, std::move(what->sender), original);
    what->sender = reply_address();
    auto sent = what->mid;
    target->enqueue(std::move(what), ctx);
    if (marker != 0)
      core_->flow.mark(nid, marker, ctx);
    check_race(nid, sent, aid, ctx);
  }

private:
  // Sends over the direct link `l`, or refuses the message when the link
  // closed. Returns false only when a link cannot carry it (then `what` is
  // intact for CAF's path).
  bool send_link(const std::shared_ptr<out_link>& l, caf::actor_id aid,
                 const caf::node_id& nid, caf::mailbox_element_ptr& what,
                 caf::execution_unit* ctx) {
    bool request = what->mid.is_request() && what->sender;
    if (request) {
      what->mid = core_->pending.add(nid, std::move(what->sender), what->mid);
      what->sender = reply_address();
    }
    auto sent = what->mid;
    auto rc = core_->links->send(l, aid, *what);
    if (rc == link_layer::send_result::ok) {
      if (request)
        check_race(nid, sent, aid, ctx);
      what.reset();
      return true;
    }
    // Undo: the pending entry holds the requester and its id. Gone means
    // the node's failure already answered the requester.
    if (request && !core_->pending.take(sent.response_id(), what->sender,
                                        what->mid))
      return true;
    if (rc == link_layer::send_result::unencodable)
      return false;
    refuse(what, ctx, down_error(aid));
    return true;
  }

  // Answers to a forwarded request come back to a handle of this node:
  // this one, or for a mirror (whose address is the remote actor's) the
  // node's responder.
  caf::strong_actor_ptr reply_address() {
    return mirror_ ? caf::actor_cast<caf::strong_actor_ptr>(core_->responder)
                   : caf::strong_actor_ptr{ctrl()};
  }

  // The node may have gone down between the reachability check and
  // add_pending; then nobody fails this request but us.
  void check_race(const caf::node_id& nid, caf::message_id sent,
                  caf::actor_id aid, caf::execution_unit* ctx) {
    if (core_->view.reachable(nid))
      return;
    caf::strong_actor_ptr sender;
    caf::message_id mid;
    if (core_->pending.take(sent.response_id(), sender, mid) && sender) {
      core_->pending.count_failed();
      sender->enqueue(caf::make_mailbox_element(nullptr, mid.response_id(), {},
                                                down_error(aid)),
                      ctx);
    }
  }

  caf::error down_error(caf::actor_id aid) const {
    return make_error(errc::node_down,
                      fmt::format("{} is on a node that is down",
                                  name_.empty()
                                    ? fmt::format("actor {}", aid)
                                    : fmt::format("'{}'", name_)));
  }

  // Answers a request with `err` at once; counts anything else as a dead
  // letter.
  void refuse(caf::mailbox_element_ptr& what, caf::execution_unit* ctx,
              caf::error err) {
    if (what->mid.is_request() && what->sender) {
      core_->pending.count_failed();
      what->sender->enqueue(caf::make_mailbox_element(caf::strong_actor_ptr{
                                                        ctrl()},
                                                      what->mid.response_id(),
                                                      {}, std::move(err)),
                            ctx);
      return;
    }
    auto name_gone = err.category() == error_category
                     && err.code()
                          == static_cast<uint8_t>(errc::name_not_found);
    count(name_gone ? troupe::detail::dead_letter::name_not_found
                    : troupe::detail::dead_letter::node_down,
          describe(err));
  }

  void count(troupe::detail::dead_letter why, const std::string& what) {
    auto n = troupe::detail::count_dead_letter(home_system(), why);
    if (n == 1 || n % 1000 == 0)
      log(log_level::warn, fmt::format("dead letter #{} ({}): {}", n,
                                       troupe::detail::to_string(why), what));
  }

  // For a mirror: CAF's proxy of the remote actor (null without links).
  caf::strong_actor_ptr remote_proxy() {
    auto& links = core_->links;
    auto proxies = links ? links->proxies() : nullptr;
    return proxies ? proxies->get_or_put(node(), id()) : nullptr;
  }

  void watch_remote() {
    auto proxy = remote_proxy();
    if (!proxy) {
      // No route to the node any more: it is gone.
      if (!core_->view.reachable(node()))
        retire(down_error(id()));
      return;
    }
    caf::weak_actor_ptr self{ctrl()};
    proxy->get()->attach_functor([self](const caf::error& reason) {
      if (auto strong = self.lock())
        static_cast<ref_actor*>(strong->get())->retire(reason);
    });
    std::lock_guard<std::mutex> guard{proxy_mtx_};
    proxy_ = std::move(proxy);
  }

  std::shared_ptr<core> core_;
  std::string name_;
  caf::actor fixed_;
  bool mirror_;
  std::atomic<bool> watching_{false};
  std::mutex proxy_mtx_;
  caf::strong_actor_ptr proxy_; // kept while the mirror lives
};

/// A node's flow actor: answers another node's FlowMarker at once, in the
/// thread that delivered it (a network thread, never a scheduler worker, so
/// acks flow even when every worker waits on a full window), and takes the
/// FlowAcks of the markers this node sent.
class flow_actor final : public caf::monitorable_actor {
public:
  flow_actor(caf::actor_config& cfg, std::weak_ptr<core> c)
    : caf::monitorable_actor(cfg), core_(std::move(c)) {
  }

  const char* name() const override {
    return "troupe.flow";
  }

  void enqueue(caf::mailbox_element_ptr what,
               caf::execution_unit* ctx) override {
    auto& xs = what->content();
    if (what->mid.is_response()) {
      if (xs.match_elements<wire::FlowAck>() && what->sender)
        if (auto c = core_.lock())
          c->flow.ack(what->sender->node(), xs.get_as<wire::FlowAck>(0).seq());
      return;
    }
    if (what->mid.is_request() && what->sender
        && xs.match_elements<wire::FlowMarker>()) {
      wire::FlowAck ack;
      ack.set_seq(xs.get_as<wire::FlowMarker>(0).seq());
      what->sender->enqueue(caf::make_mailbox_element(caf::strong_actor_ptr{
                                                        ctrl()},
                                                      what->mid.response_id(),
                                                      {}, std::move(ack)),
                            ctx);
    }
  }

private:
  std::weak_ptr<core> core_;
};

} // namespace

caf::actor make_flow_actor(caf::actor_system& sys, std::shared_ptr<core> c) {
  caf::actor_config cfg;
  auto ptr = caf::make_actor<flow_actor, caf::strong_actor_ptr>(
    sys.next_actor_id(), sys.node(), &sys, cfg, std::weak_ptr<core>{c});
  return caf::actor_cast<caf::actor>(std::move(ptr));
}

caf::strong_actor_ptr make_mirror(caf::actor_system& sys,
                                  std::shared_ptr<core> c,
                                  const caf::node_id& nid, caf::actor_id aid) {
  caf::actor_config cfg;
  return caf::make_actor<ref_actor, caf::strong_actor_ptr>(
    aid, nid, &sys, cfg, std::move(c), std::string{}, caf::actor{}, true);
}

bool of_another_node(const caf::actor_system& sys, const caf::actor& hdl) {
  return hdl && hdl.node() != sys.node() && &hdl->home_system() == &sys;
}

caf::actor make_honest(caf::actor_system& sys, std::shared_ptr<core> c,
                       const caf::actor& hdl) {
  if (!of_another_node(sys, hdl)
      || dynamic_cast<ref_actor*>(caf::actor_cast<caf::abstract_actor*>(hdl)))
    return hdl;
  if (!c->links)
    return make_ref(sys, std::move(c), {}, hdl);
  auto nid = hdl.node();
  return caf::actor_cast<caf::actor>(
    make_mirror(sys, std::move(c), nid, hdl.id()));
}

void retire_mirror(const caf::strong_actor_ptr& mirror, caf::error reason) {
  if (mirror)
    static_cast<ref_actor*>(caf::actor_cast<caf::abstract_actor*>(mirror))
      ->retire(std::move(reason));
}

caf::actor make_ref(caf::actor_system& sys, std::shared_ptr<core> c,
                    std::string name, caf::actor fixed) {
  caf::actor_config cfg;
  auto ptr = caf::make_actor<ref_actor, caf::strong_actor_ptr>(
    sys.next_actor_id(), sys.node(), &sys, cfg, std::move(c), std::move(name),
    std::move(fixed));
  return caf::actor_cast<caf::actor>(std::move(ptr));
}

} // namespace troupe::cluster
