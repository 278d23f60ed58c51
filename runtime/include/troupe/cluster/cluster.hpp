// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>

namespace troupe {

/// Where a node stands in the cluster, as seen by one member. The numbers
/// are those of `MemberStatus` on the wire (cluster.proto).
enum class member_status {
  /// Contacted, not yet confirmed.
  joining = 0,
  /// Reachable and taking part.
  up = 1,
  // 2 was `suspect`, which nothing ever set: a member goes from up straight
  // to down, when its connection drops or its heartbeats stop for the
  // failure timeout (there is one judgement, no "suspected" stage). The
  // number stays unused.
  /// Marked down (its process died, froze or was cut off). This
  /// incarnation is fenced: it can only come back as a new one.
  down = 3,
  /// Left on purpose (graceful shutdown).
  left = 4,
  /// Forgotten: a member that left or was down is dropped from the view
  /// after `failure_detector_settings::forget_after`. Only ever sent to
  /// subscribers (once), never listed by `node::members()`.
  removed = 5,
};

const char* to_string(member_status x) noexcept;

/// One node of the cluster.
struct member {
  std::string name;
  /// Changes every time the node's process starts or the node rejoins
  /// after it was fenced.
  uint64_t incarnation = 0;
  std::string host;
  uint16_t port = 0;
  member_status status = member_status::joining;
  /// Actors the node runs (from its last heartbeat).
  uint32_t load = 0;
  /// Actor types other nodes may spawn there (`node::add_actor_type`).
  std::vector<std::string> actor_types;
};

/// Sent to the subscribers of `node::subscribe_members` whenever a member's
/// status changes (and once per known member when subscribing).
struct member_event {
  troupe::member member;
};

/// Sent to the subscribers of `node::subscribe_names` whenever a
/// cluster-wide name is bound (to `holder`) or released (`holder` invalid),
/// as this node's table sees it.
struct name_event {
  std::string name;
  caf::actor holder;
};

/// How `node::spawn_placed` and remote children choose a node. Only
/// members that registered the actor type are candidates.
enum class placement {
  /// The live members in turn, by name.
  round_robin,
  /// The live members other than this node in turn (this node only when
  /// no other can host the type): work goes away from the spawning node.
  spread,
  /// The live member with the fewest running actors (by its heartbeats).
  least_loaded,
  /// This node.
  local,
};

/// Makes an actor of a registered type from the arguments of the spawn
/// request. Registered by name on every node that may host the type.
using actor_factory =
  std::function<caf::actor(caf::actor_system&, const caf::message& args)>;

/// Counters of the cluster layer (cumulative).
struct cluster_stats {
  /// One-way messages that reached no handler: the sum of the four
  /// reasons below.
  uint64_t dead_letters = 0;
  /// To an actor on a node that was down (through troupe handles), or
  /// waiting on a direct link that closed.
  uint64_t dead_letters_node_down = 0;
  /// To a cluster-wide name nobody held.
  uint64_t dead_letters_name_not_found = 0;
  /// To an actor of this node that had ended (troupe actors, actors behind
  /// troupe handles, and messages from direct links). Messages that other
  /// nodes send to this node's ended actors over CAF's own transport are
  /// dropped by CAF and not counted.
  uint64_t dead_letters_actor_gone = 0;
  /// Discarded by a bounded mailbox (`mailbox_bound`).
  uint64_t dead_letters_mailbox_full = 0;
  /// Messages, one-way and requests, that bounded mailboxes discarded.
  uint64_t mailbox_dropped = 0;
  /// Requests failed with `errc::node_down` (at once, or when their node
  /// went down while they were pending).
  uint64_t failed_requests = 0;
  /// Times this node was fenced and rejoined as a new incarnation.
  uint64_t fenced = 0;
  /// Times a sender waited because its window to another node was full
  /// (on a direct link: because the link held `max_buffer` unsent bytes).
  uint64_t flow_waits = 0;
  /// Messages written to and read from direct links.
  uint64_t link_frames_out = 0;
  uint64_t link_frames_in = 0;
  /// Connections to the data port dropped for bad input.
  uint64_t link_bad_frames = 0;
  /// Connections the transport guard refused or dropped, by reason (see
  /// docs/security.md): over --max-connections, a frame over the size
  /// limit, no handshake in time, a failed secret challenge, a failed TLS
  /// handshake, input CAF could not decode.
  uint64_t refused_over_limit = 0;
  /// Connections closed in their handshake to make room for a newer one
  /// (over --max-connections or --max-handshaking).
  uint64_t refused_displaced = 0;
  uint64_t refused_oversized = 0;
  uint64_t refused_handshake_timeout = 0;
  uint64_t refused_secret = 0;
  uint64_t refused_tls = 0;
  uint64_t refused_malformed = 0;
};

/// Failure-detector settings, the same on every node of a cluster (a node
/// refuses a joiner whose settings would make it drop healthy links).
struct failure_detector_settings {
  /// Heartbeats go out this often: with gossip detection a monitor's
  /// probes and a gossip round; with mesh detection on every link (CAF's
  /// BASP heartbeats and troupe's own).
  std::chrono::milliseconds heartbeat_interval{200};
  /// A member silent for this long is unreachable for its monitors (gossip
  /// detection), or its link is closed and it is marked down (mesh). A frozen node is thus marked down within about
  /// `failure_timeout + heartbeat_interval`.
  std::chrono::milliseconds failure_timeout{1600};
  /// A member that left or is down stays listed (as such) this long, then
  /// it is forgotten: subscribers hear `member_status::removed` and it is
  /// no longer among `node::members()`. At least twice the failure timeout.
  /// Of a member that went down, a tombstone (its name and incarnation)
  /// stays for `tombstone_ttl`, so that the incarnation stays fenced.
  std::chrono::milliseconds forget_after{10000};
  /// How long a forgotten member's incarnation stays fenced (at most 1024
  /// tombstones are kept, the oldest dropped first).
  std::chrono::milliseconds tombstone_ttl{std::chrono::hours{1}};
  /// How failures are detected (`--detection`), the same on every node:
  /// false (`mesh`): every node heartbeats every other on every link,
  /// troupe's and BASP's; true (`gossip`, the default): each member is
  /// probed by `monitors` others on a hashed ring, their verdicts and the
  /// membership spread by gossip, and links carry no heartbeats, so an
  /// idle node's cost does not grow with the cluster (issue 19,
  /// runtime/cluster/membership.hpp).
  bool gossip = true;
  /// Gossip detection: monitors per member.
  size_t monitors = 5;
};

} // namespace troupe

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::member_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::name_event)
