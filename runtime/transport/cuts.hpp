// SPDX-License-Identifier: Apache-2.0
// A node's network cuts: the hook behind troupe::testkit's partitions and
// kills of nodes that share one process.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace troupe::transport {

/// The peers a node is cut off from, named by the `host:port` they listen
/// on (a node's port and its direct-link port are two entries). Checked on
/// every read and write of the node's connections: one relaxed load while
/// nothing is cut.
///
/// A cut acts on the connections this node dialed, so both sides of a
/// partition cut each other (the test kit does):
/// - a BASP connection this node dialed to a cut endpoint goes silent for
///   good: what arrives is read and dropped, what BASP writes is dropped.
///   Neither BASP hears anything, and each closes it after the failure
///   timeout, as in a real partition: the members mark each other down as
///   unreachable (not as dead processes), and a minority fences itself.
///   The connection stays silent after `heal()` (a stream that lost bytes
///   cannot resume), so a cut shorter than the failure timeout still costs
///   the connections that crossed it;
/// - a new BASP connection to a cut endpoint is refused at once (in a real
///   partition the dial would time out);
/// - a direct link to a cut endpoint holds its frames, as a TCP connection
///   whose packets are lost: senders block once it holds `max_buffer`
///   bytes, and it is not dialed while cut. When its node is marked down
///   it closes (the frames are dead letters); after `heal()` they go out.
///
/// Not cut: connections other nodes dialed to this one (their cuts
/// decide), the daemon's TCP probe before a dial (connect only), the
/// journal, the metrics endpoint, and anything a test hands from one
/// node's actor system to another's in memory.
///
/// `isolate()` is a process death as the others see it: every BASP
/// connection of the node, dialed or accepted, fails at its next read or
/// write (BASP's heartbeats make that within a heartbeat interval) and new
/// ones are refused both ways, so nothing the node sends afterwards (its
/// leave at shutdown included) gets out; its direct links hold. The others
/// see the connection drop while its heartbeats are fresh: down, "connection
/// lost".
///
/// Thread safety: every member function may be called from any thread.
class net_cuts {
public:
  /// Adds `endpoints` (`host:port`) to the cut ones.
  void cut(const std::vector<std::string>& endpoints) {
    std::lock_guard<std::mutex> guard{mtx_};
    endpoints_.insert(endpoints.begin(), endpoints.end());
    any_ = !endpoints_.empty() || isolated_;
  }

  /// Fails every connection and refuses new ones (see above).
  void isolate() {
    std::lock_guard<std::mutex> guard{mtx_};
    isolated_ = true;
    any_ = true;
  }

  /// Lifts every cut and the isolation.
  void heal() {
    std::lock_guard<std::mutex> guard{mtx_};
    endpoints_.clear();
    isolated_ = false;
    any_ = false;
  }

  /// Whether the node is isolated.
  bool isolated() const noexcept {
    return isolated_.load(std::memory_order_relaxed);
  }

  /// Whether a connection this node dials to `endpoint` is cut.
  bool cuts(const std::string& endpoint) const {
    if (!any_.load(std::memory_order_relaxed))
      return false;
    std::lock_guard<std::mutex> guard{mtx_};
    return isolated_ || endpoints_.count(endpoint) > 0;
  }

  /// Whether a connection this node dials to `host:port` is cut.
  bool cuts(const std::string& host, uint16_t port) const {
    if (!any_.load(std::memory_order_relaxed))
      return false;
    return cuts(host + ":" + std::to_string(port));
  }

private:
  std::atomic<bool> any_{false};
  std::atomic<bool> isolated_{false};
  mutable std::mutex mtx_;
  std::set<std::string> endpoints_;
};

} // namespace troupe::transport
