// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>
#include <caf/send.hpp>

namespace troupe {
class node;
} // namespace troupe

namespace troupe::actors {

/// `(subscribe_atom, caf::actor)` to a topic's handle: the actor gets every
/// message published on the topic from now on.
using subscribe_atom = caf::atom_constant<caf::atom("trp_sub")>;

/// `(unsubscribe_atom, caf::actor)`: stops the deliveries.
using unsubscribe_atom = caf::atom_constant<caf::atom("trp_unsub")>;

/// `(topic_subscribers_atom)`: answers the subscriber count per node as
/// this node sees it (`std::map<std::string, uint64_t>`).
using topic_subscribers_atom = caf::atom_constant<caf::atom("trp_tsubs")>;

/// One node's end of a cluster-wide publish/subscribe topic (Akka's
/// DistributedPubSub mediator, per topic).
///
/// Every node that publishes or subscribes makes a `topic` with the same
/// name. Its mediator actor holds the local subscribers and finds the
/// mediators of the other nodes through the cluster name
/// `troupe.topic/<name>@<node>`. A message published on a node reaches its
/// local subscribers and, once per node, every other node's mediator,
/// which hands it to its own subscribers.
///
/// - **Order.** Messages from one publisher reach every subscriber in the
///   order they were published (one FIFO path: publisher -> mediator ->
///   node link -> mediator -> subscriber). Two publishers are not ordered
///   with respect to each other.
/// - **Failure.** Subscribers that terminate are dropped; the
///   subscribers of a node that goes down (or leaves) are dropped with it
///   when its member event arrives. Delivery is at most once: messages in
///   flight to a node that dies are lost.
/// - **Types.** Payloads that cross nodes are Protobuf messages: add their
///   types on every node (`node::add_message_type`).
///
/// Thread safety: every member may be called from any thread. The topic
/// must not outlive its node.
class topic {
public:
  /// Starts this node's mediator of topic `name`. @pre `n.running()`
  topic(troupe::node& n, std::string name);

  /// Stops the mediator: local subscribers get nothing more, and the
  /// other nodes drop this node's end.
  ~topic();

  topic(const topic&) = delete;
  topic& operator=(const topic&) = delete;

  const std::string& name() const noexcept {
    return name_;
  }

  /// The mediator. Actors publish by sending it any message other than
  /// the atoms above, and subscribe with `subscribe_atom`.
  const caf::actor& handle() const noexcept {
    return hdl_;
  }

  void subscribe(const caf::actor& subscriber) {
    caf::anon_send(hdl_, subscribe_atom::value, subscriber);
  }

  void unsubscribe(const caf::actor& subscriber) {
    caf::anon_send(hdl_, unsubscribe_atom::value, subscriber);
  }

  /// Publishes `(xs...)` to every subscriber of the topic in the cluster.
  template <class... Ts>
  void publish(Ts&&... xs) {
    caf::anon_send(hdl_, std::forward<Ts>(xs)...);
  }

  /// Subscribers per node, as this node's mediator knows them (blocks for
  /// one round trip).
  caf::expected<std::map<std::string, uint64_t>> subscribers() const;

private:
  troupe::node* node_;
  std::string name_;
  caf::actor hdl_;
};

} // namespace troupe::actors
