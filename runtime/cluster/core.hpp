// SPDX-License-Identifier: Apache-2.0
// The cluster layer's shared state, owned in pieces (see `core`).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/node_id.hpp>

#include "cluster/actor_types.hpp"
#include "cluster/flow_control.hpp"
#include "cluster/member_history.hpp"
#include "cluster/member_view.hpp"
#include "cluster/name_table.hpp"
#include "cluster/pending_requests.hpp"
#include "troupe/cluster/cluster.hpp"

namespace troupe::wire {
class Member;
} // namespace troupe::wire

namespace troupe::transport {
class endpoint;
} // namespace troupe::transport

namespace troupe::cluster {

class link_layer;

/// A member as Protobuf, and back.
wire::Member to_wire(const member& m);
member from_wire(const wire::Member& x);

/// What a node's cluster layer shares between its daemon (the only writer
/// of members and names) and the troupe handles, link readers and the node
/// that read them from other threads: the node's identity, a few owned
/// pieces with their own locks and narrow interfaces, and the plumbing the
/// node sets up before its daemon starts.
class core {
public:
  /// Registers the cluster's events with the actor layer (they pass any
  /// mailbox bound).
  core();

  // -- identity (set by the node before its daemon starts) -------------------

  std::string self_name;
  std::string host;
  uint16_t port = 0;
  failure_detector_settings fd;
  /// The one copy of this node's incarnation: the node starts it, the
  /// daemon moves it on when the node is fenced and rejoins.
  std::atomic<uint64_t> incarnation{0};
  /// Times this node was fenced and rejoined.
  std::atomic<uint64_t> fenced{0};

  // -- owned pieces ------------------------------------------------------------

  /// The members as the daemon last published them.
  member_view view;
  /// The cluster-wide names.
  name_table names;
  /// Requests forwarded to other nodes, failed when their node goes down.
  pending_requests pending;
  /// Flow control towards each other member over CAF's transport.
  flow_control flow;
  /// The actor types other nodes may spawn here.
  actor_types types;
  /// What this node saw happen to the members (the daemon writes it).
  member_history history;

  // -- plumbing (set by the node before its daemon starts) ---------------------

  /// The node's data plane (null when direct links are off); stopped by
  /// `clear()`.
  std::shared_ptr<link_layer> links;

  /// The node's directory (published at its port); members may ask the
  /// daemon what they would ask it.
  caf::actor directory;

  /// How this node dials and listens on BASP (guarded; TLS when set);
  /// stopped by `clear()`.
  std::shared_ptr<transport::endpoint> net;

  /// A local handle that takes the answers to requests that mirrors (the
  /// senders of messages that came over a link) forward to their nodes.
  caf::actor responder;

  // -- what spans pieces -------------------------------------------------------

  /// Starts flow control towards `nid`, whose flow actor is `echo`, and
  /// dials its direct link when it has one (`link_port` != 0).
  void flow_open(const caf::node_id& nid, caf::actor echo,
                 const std::string& link_host = {}, uint16_t link_port = 0);

  /// Ends it: senders waiting for `nid` give up; its direct links close.
  void flow_close(const caf::node_id& nid);

  /// Drops every handle (names, pending requests, flows) and stops the
  /// transports: before the actor system goes.
  void clear();
};

} // namespace troupe::cluster
