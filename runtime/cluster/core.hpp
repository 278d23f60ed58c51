#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/message_id.hpp>
#include <caf/node_id.hpp>

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

/// A cluster-wide name and who holds it.
struct name_entry {
  caf::actor hdl;
  std::string owner;
  uint64_t owner_incarnation = 0;
  uint64_t stamp = 0;
};

/// Whether `a` wins a conflict over `b`: the later registration, ties
/// broken by owner name. Every node applies the same rule, so all converge.
inline bool wins(const name_entry& a, const name_entry& b) {
  return a.stamp != b.stamp ? a.stamp > b.stamp : a.owner > b.owner;
}

/// What a node's cluster layer shares between its daemon (the only writer
/// of members and names) and the troupe handles that read them from the
/// sending actor's thread.
class core {
public:
  /// Set by the node before its daemon starts, constant afterwards.
  std::string self_name;
  std::string host;
  uint16_t port = 0;
  failure_detector_settings fd;
  /// Changes when this node is fenced and rejoins.
  std::atomic<uint64_t> incarnation{0};

  // -- members (written by the daemon) --------------------------------------

  /// Every member this node knows of, itself included.
  std::vector<member> members() const;

  /// Publishes the daemon's view: every member, and the CAF node ids of
  /// those that are not up.
  void set_members(std::vector<member> xs,
                   std::vector<caf::node_id> unreachable,
                   std::vector<std::pair<caf::node_id, std::string>> ids = {});

  /// The member name of the node with CAF id `nid` (empty if unknown).
  std::string member_of(const caf::node_id& nid) const;

  /// Actors spawned here for other nodes (written by the daemon).
  std::vector<caf::actor_addr> hosted() const;
  void set_hosted(std::vector<caf::actor_addr> xs);

  /// Whether the node with CAF id `nid` is up (true for this node and for
  /// nodes the cluster does not know: plain CAF peers are not judged).
  bool reachable(const caf::node_id& nid) const;

  /// Waits until `nid` is a known member that is up, or `deadline`, or
  /// `give_up()` (checked every few milliseconds); returns whether it is.
  /// A peer that was told of this node can dial it before this node's
  /// daemon has taken the peer in (issue 17: refusing then held its
  /// messages for a 100 ms redial).
  bool await_up_member(const caf::node_id& nid,
                       std::chrono::steady_clock::time_point deadline,
                       const std::function<bool()>& give_up) const;

  // -- names -----------------------------------------------------------------

  caf::actor whereis(const std::string& name) const;

  std::optional<name_entry> entry(const std::string& name) const;

  std::unordered_map<std::string, name_entry> names() const;

  /// Installs `x` under `name` unless a winning entry is there; returns the
  /// entry that lost (to be killed if it is ours), if any.
  std::optional<name_entry> put_name(const std::string& name, name_entry x,
                                     bool& installed);

  /// Removes `name` if it is still bound to `hdl` (any handle if invalid).
  bool drop_name(const std::string& name, const caf::actor_addr& hdl);

  /// Removes every name owned by `owner`; returns them.
  std::vector<std::string> drop_names_of(const std::string& owner);

  /// Moves the names owned by `owner` to its incarnation `incarnation`
  /// (a fenced node's own names carry on into its next incarnation).
  void reown_names(const std::string& owner, uint64_t incarnation);

  // -- requests pending on other nodes ---------------------------------------

  /// Remembers a request forwarded to `target_node` on behalf of
  /// `(sender, mid)`; returns the id to send it under.
  caf::message_id add_pending(const caf::node_id& target_node,
                              caf::strong_actor_ptr sender,
                              caf::message_id mid);

  /// Takes the pending request answered under `response_id`.
  bool take_pending(caf::message_id response_id, caf::strong_actor_ptr& sender,
                    caf::message_id& mid);

  /// Fails every request pending on `target_node` with `err`.
  size_t fail_pending(const caf::node_id& target_node, const caf::error& err);

  /// Forgets requests older than `age` (their requesters have long timed
  /// out when a node never answered and never went down).
  size_t expire_pending(std::chrono::steady_clock::duration age);

  /// Drops every handle (names, pending requests, flows): before the
  /// actor system goes.
  void clear();

  // -- counters ---------------------------------------------------------------

  // Dead letters are the node's, not only this layer's: see
  // wire::detail::letter_counts.
  std::atomic<uint64_t> failed_requests{0};
  std::atomic<uint64_t> fenced{0};

  // -- flow control ------------------------------------------------------------

  /// Messages a node may have in flight to one other node (sent through
  /// troupe handles, not yet confirmed by a FlowAck).
  size_t flow_window = 4096;

  /// This node's flow actor (answers markers, takes acks).
  caf::actor flow_actor;

  /// Starts flow control towards `nid`, whose flow actor is `echo`, and
  /// dials its direct link when it has one (`link_port` != 0).
  void flow_open(const caf::node_id& nid, caf::actor echo,
                 const std::string& link_host = {}, uint16_t link_port = 0);

  /// Ends it: senders waiting for `nid` give up; its direct links close.
  void flow_close(const caf::node_id& nid);

  // -- direct links --------------------------------------------------------

  /// The node's data plane (null when direct links are off). Set before
  /// the daemon starts; stopped and dropped by `clear()`.
  std::shared_ptr<link_layer> links;

  /// The node's directory (published at its port); members may ask the
  /// daemon what they would ask it. Set before the daemon starts.
  caf::actor directory;

  /// How this node dials and listens on BASP (guarded; TLS when set). Set
  /// before the daemon starts; stopped by `clear()`.
  std::shared_ptr<transport::endpoint> net;

  /// A local handle that takes the answers to requests that mirrors (the
  /// senders of messages that came over a link) forward to their nodes.
  caf::actor responder;

  /// Called before a message goes to `nid`: waits while the window is full
  /// (back-pressure on the sending thread). Returns false when `nid` went
  /// down meanwhile; sets `marker` to the sequence number to mark after the
  /// message, or 0.
  bool flow_admit(const caf::node_id& nid, uint64_t& marker);

  /// Sends the marker `seq` to `nid`'s flow actor.
  void flow_mark(const caf::node_id& nid, uint64_t seq,
                 caf::execution_unit* ctx);

  /// `nid` confirmed everything up to marker `seq`.
  void flow_ack(const caf::node_id& nid, uint64_t seq);

  /// Times a sender had to wait for a full window.
  std::atomic<uint64_t> flow_waits{0};

  // -- registered actor types -------------------------------------------------

  void add_factory(std::string type, actor_factory f);

  actor_factory factory(const std::string& type) const;

  std::vector<std::string> factory_names() const;

private:
  struct pending {
    caf::node_id target;
    caf::strong_actor_ptr sender;
    caf::message_id mid;
    std::chrono::steady_clock::time_point since;
  };

  mutable std::shared_mutex mtx_;
  // Signalled by set_members (waited on with mtx_ shared).
  mutable std::condition_variable_any members_cv_;
  std::vector<member> members_;
  // CAF node ids of members that are not up.
  std::vector<caf::node_id> unreachable_;
  std::vector<std::pair<caf::node_id, std::string>> ids_;
  std::vector<caf::actor_addr> hosted_;
  std::unordered_map<std::string, name_entry> names_;

  std::mutex pending_mtx_;
  uint64_t next_request_ = 0;
  std::unordered_map<uint64_t, pending> pending_;

  struct flow {
    std::mutex mtx;
    std::condition_variable cv;
    caf::actor echo;
    uint64_t sent = 0;
    uint64_t acked = 0;
    uint64_t marked = 0;
    bool closed = false;
  };

  std::shared_ptr<flow> find_flow(const caf::node_id& nid) const;

  mutable std::mutex flows_mtx_;
  std::unordered_map<caf::node_id, std::shared_ptr<flow>> flows_;
  std::atomic<uint64_t> next_marker_id_{0};

  mutable std::mutex factories_mtx_;
  std::unordered_map<std::string, actor_factory> factories_;
};

} // namespace troupe::cluster
