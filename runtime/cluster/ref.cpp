#include "cluster/ref.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_config.hpp>
#include <caf/actor_system.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/make_actor.hpp>
#include <caf/monitorable_actor.hpp>
#include <fmt/format.h>

#include "troupe/error.hpp"
#include "troupe/log.hpp"
#include "troupe/wire/cluster.pb.h"
#include "troupe/wire/proto.hpp"

namespace troupe::cluster {

namespace {

class ref_actor final : public caf::monitorable_actor {
public:
  ref_actor(caf::actor_config& cfg, std::shared_ptr<core> c, std::string name,
            caf::actor fixed)
    : caf::monitorable_actor(cfg),
      core_(std::move(c)),
      name_(std::move(name)),
      fixed_(std::move(fixed)) {
  }

  const char* name() const override {
    return "troupe.ref";
  }

  void enqueue(caf::mailbox_element_ptr what,
               caf::execution_unit* ctx) override {
    if (what->mid.is_response()) {
      // The answer to a request forwarded to another node: hand it to the
      // original requester under the original request's id.
      caf::strong_actor_ptr sender;
      caf::message_id mid;
      if (core_->take_pending(what->mid, sender, mid) && sender) {
        what->mid = mid.response_id();
        sender->enqueue(std::move(what), ctx);
      }
      return;
    }
    auto target = name_.empty() ? fixed_ : core_->whereis(name_);
    if (!target) {
      refuse(what, ctx,
             make_error(errc::name_not_found,
                        fmt::format("no actor holds the cluster name '{}'",
                                    name_)));
      return;
    }
    auto nid = target.node();
    if (nid == home_system().node()) {
      target->enqueue(std::move(what), ctx);
      return;
    }
    if (!core_->reachable(nid)) {
      refuse(what, ctx, down_error(target));
      return;
    }
    uint64_t marker = 0;
    if (!core_->flow_admit(nid, marker)) {
      // The node went down while this sender waited for the window.
      refuse(what, ctx, down_error(target));
      return;
    }
    if (!what->mid.is_request() || !what->sender) {
      target->enqueue(std::move(what), ctx);
      if (marker != 0)
        core_->flow_mark(nid, marker, ctx);
      return;
    }
    auto original = what->mid;
    what->mid = core_->add_pending(nid, std::move(what->sender), original);
    what->sender = caf::strong_actor_ptr{ctrl()};
    auto sent = what->mid;
    target->enqueue(std::move(what), ctx);
    if (marker != 0)
      core_->flow_mark(nid, marker, ctx);
    // The node may have gone down between the check above and
    // add_pending; then nobody fails this request but us.
    if (!core_->reachable(nid)) {
      caf::strong_actor_ptr sender;
      caf::message_id mid;
      if (core_->take_pending(sent.response_id(), sender, mid) && sender) {
        ++core_->failed_requests;
        sender->enqueue(caf::make_mailbox_element(nullptr, mid.response_id(),
                                                  {}, down_error(target)),
                        ctx);
      }
    }
  }

private:
  caf::error down_error(const caf::actor& target) const {
    return make_error(errc::node_down,
                      fmt::format("{} is on a node that is down",
                                  name_.empty()
                                    ? fmt::format("actor {}", target.id())
                                    : fmt::format("'{}'", name_)));
  }

  // Answers a request with `err` at once; counts anything else as a dead
  // letter.
  void refuse(caf::mailbox_element_ptr& what, caf::execution_unit* ctx,
              caf::error err) {
    if (what->mid.is_request() && what->sender) {
      ++core_->failed_requests;
      what->sender->enqueue(caf::make_mailbox_element(caf::strong_actor_ptr{
                                                        ctrl()},
                                                      what->mid.response_id(),
                                                      {}, std::move(err)),
                            ctx);
      return;
    }
    auto n = ++core_->dead_letters;
    if (n == 1 || n % 1000 == 0)
      log(log_level::warn, fmt::format("dead letter #{}: {}", n,
                                       describe(err)));
  }

  std::shared_ptr<core> core_;
  std::string name_;
  caf::actor fixed_;
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
          c->flow_ack(what->sender->node(), xs.get_as<wire::FlowAck>(0).seq());
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

caf::actor make_ref(caf::actor_system& sys, std::shared_ptr<core> c,
                    std::string name, caf::actor fixed) {
  caf::actor_config cfg;
  auto ptr = caf::make_actor<ref_actor, caf::strong_actor_ptr>(
    sys.next_actor_id(), sys.node(), &sys, cfg, std::move(c), std::move(name),
    std::move(fixed));
  return caf::actor_cast<caf::actor>(std::move(ptr));
}

} // namespace troupe::cluster
