// SPDX-License-Identifier: Apache-2.0
// Flow control between nodes over CAF's transport: each node may have at
// most `window` messages in flight to another (sent through troupe
// handles, not yet confirmed by a FlowAck). A sender waits while the
// window is full (back-pressure on the sending thread); every quarter
// window it sends a marker that the other node's flow actor acks.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/node_id.hpp>

namespace troupe::cluster {

class flow_control {
public:
  /// Messages a node may have in flight to one other node. Set before the
  /// daemon starts.
  size_t window = 4096;

  /// This node's flow actor (answers markers, takes acks). Set before the
  /// daemon starts.
  caf::actor actor;

  /// Starts counting towards `nid`, whose flow actor is `echo`.
  void open(const caf::node_id& nid, caf::actor echo);

  /// Ends it: senders waiting for `nid` give up.
  void close(const caf::node_id& nid);

  /// Called before a message goes to `nid`: waits while the window is full.
  /// Returns false when `nid` went down meanwhile; sets `marker` to the
  /// sequence number to mark after the message, or 0.
  bool admit(const caf::node_id& nid, uint64_t& marker);

  /// Sends the marker `seq` to `nid`'s flow actor.
  void mark(const caf::node_id& nid, uint64_t seq, caf::execution_unit* ctx);

  /// `nid` confirmed everything up to marker `seq`.
  void ack(const caf::node_id& nid, uint64_t seq);

  /// Closes every flow (waiting senders give up) and drops the handles.
  void clear();

  /// Times a sender had to wait for a full window.
  uint64_t waits() const noexcept {
    return waits_.load();
  }

private:
  struct flow {
    std::mutex mtx;
    std::condition_variable cv;
    caf::actor echo;
    uint64_t sent = 0;
    uint64_t acked = 0;
    uint64_t marked = 0;
    bool closed = false;
  };

  std::shared_ptr<flow> find(const caf::node_id& nid) const;

  mutable std::mutex mtx_;
  std::unordered_map<caf::node_id, std::shared_ptr<flow>> flows_;
  std::atomic<uint64_t> next_marker_id_{0};
  std::atomic<uint64_t> waits_{0};
};

} // namespace troupe::cluster
