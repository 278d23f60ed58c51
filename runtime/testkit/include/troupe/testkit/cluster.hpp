// SPDX-License-Identifier: Apache-2.0
// Several troupe nodes in one process, for tests: start, wait for them to
// see each other, kill, stop, partition and heal them.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "troupe/cluster/cluster.hpp"
#include "troupe/log.hpp"
#include "troupe/node/node.hpp"
#include "troupe/node/node_config.hpp"

namespace troupe::persistence {
class memory_store;
} // namespace troupe::persistence

namespace troupe::testkit {

/// How a `cluster` makes its nodes.
struct cluster_options {
  /// Node names are the prefix and 1, 2, 3, ... in order of start.
  std::string name_prefix = "n";
  /// Scheduler threads of each node (all nodes share the machine).
  size_t threads = 2;
  /// The same on every node (see `failure_detector_settings`): a killed
  /// node is seen down at once, a cut-off one after about
  /// `failure_timeout + heartbeat_interval`.
  failure_detector_settings failure_detector;
  /// Bound of every wait of the kit (start, `await_converged`,
  /// `await_member`). Events arrive in milliseconds; this is a safety net.
  std::chrono::milliseconds timeout{10000};
  /// Every node keeps its persistent state in one in-memory store that the
  /// cluster holds (`memory:<unique name>`, see `journal_store()`), as
  /// nodes share a database.
  bool memory_journal = false;
  /// Minimum level of troupe's log (one log per process).
  log_level log = log_level::warn;
  /// Changes each node's config before the kit sets what it owns (name,
  /// host 127.0.0.1, port 0, seeds, `handle_signals = false`, journal).
  std::function<void(node_config&)> configure;
  /// Called with each node before it starts: add message and actor types.
  std::function<void(node&)> prepare;
};

/// Nodes on 127.0.0.1 with ports the OS chooses, in one process: the first
/// is the seed of the others. Every wait is on member events
/// (`node::subscribe_members`), bounded by `cluster_options::timeout`.
///
/// ```
/// troupe::testkit::cluster c;
/// ASSERT_FALSE(c.start(3));           // all three see each other up
/// c.partition({0, 1}, {2});
/// ASSERT_TRUE(c.await_member(0, 2, troupe::member_status::down));
/// c.heal();
/// ASSERT_TRUE(c.await_converged());   // n3 is back (a new incarnation)
/// ```
///
/// Failures are made with the nodes' network cuts (runtime/transport/
/// cuts.hpp), at the connections themselves:
/// - `partition(a, b)`: every node of `a` cuts the node and direct-link
///   ports of every node of `b`, and the reverse. CAF's BASP connections
///   between the sides go silent (bytes dropped both ways), so both sides
///   stop hearing heartbeats, BASP closes them after the failure timeout,
///   and each side marks the other down as unreachable; the minority side
///   (keep-majority) fences itself and keeps trying to rejoin. New BASP
///   connections across the cut are refused at once (a real partition
///   would let them time out); direct links hold their frames. Not cut:
///   the journal (both sides still reach the shared store), TCP-level
///   probes, and actor handles of one node's system that the test passes
///   to another node in memory: use `lookup` / cluster names instead.
///   A connection that went silent stays silent after `heal()`: a cut
///   shorter than the failure timeout still brings the members down.
/// - `heal()`: lifts every cut; the fenced side rejoins as new
///   incarnations (`await_converged` waits for that).
/// - `kill(i)`: the node's connections all fail (within a heartbeat
///   interval) and refuse new ones, then it shuts down: nothing it sends,
///   its leave included, gets out, so the others see the connection drop
///   with fresh heartbeats and mark it down ("connection lost"), as after
///   kill -9. Unlike kill -9, its own actors stop in order.
/// - `stop(i)`: a graceful shutdown; the others see it `left`.
///
/// Thread safety: one test thread calls it; the nodes run as usual.
class cluster {
public:
  explicit cluster(cluster_options opts = {});

  /// Shuts down the nodes still running (in reverse order).
  ~cluster();

  cluster(const cluster&) = delete;
  cluster& operator=(const cluster&) = delete;

  /// Starts `n` nodes, the first as the seed of the others, and waits until
  /// each sees every other up. Fails with the node's error, or
  /// `errc::not_running` when they do not converge in time.
  [[nodiscard]] caf::error start(size_t n);

  /// Starts one more node, seeded by the first running one, and waits
  /// until all running nodes see each other up. Returns its index.
  caf::expected<size_t> add_node();

  /// Nodes started so far (running or not).
  size_t size() const noexcept {
    return nodes_.size();
  }

  /// Node `i` (0-based, in order of start), also after it stopped.
  node& operator[](size_t i) {
    return *nodes_.at(i);
  }

  /// Whether node `i` runs (neither killed nor stopped).
  bool running(size_t i) const;

  /// Waits until every running node sees every other running node up,
  /// with the incarnation it runs now.
  [[nodiscard]] bool await_converged();
  [[nodiscard]] bool await_converged(std::chrono::milliseconds timeout);

  /// Waits until node `observer` sees the member `name` with `status`;
  /// returns it as seen, or nothing after the timeout.
  std::optional<member> await_member(size_t observer, const std::string& name,
                                     member_status status);

  /// The same for the member that node `subject` is.
  std::optional<member> await_member(size_t observer, size_t subject,
                                     member_status status);

  /// What node `observer` last heard of the member `name`, if anything.
  std::optional<member> view(size_t observer, const std::string& name) const;

  /// Ends node `i` as a crash does (see above).
  void kill(size_t i);

  /// Shuts node `i` down gracefully: the others see it `left`.
  void stop(size_t i);

  /// Cuts the network between the nodes of `a` and those of `b`.
  void partition(const std::vector<size_t>& a, const std::vector<size_t>& b);

  /// Lifts every cut of every running node.
  void heal();

  /// The store of the cluster's journal (null unless `memory_journal`).
  std::shared_ptr<persistence::memory_store> journal_store() const {
    return store_;
  }

  /// The journal location the nodes use (empty unless `memory_journal`).
  const std::string& journal_location() const noexcept {
    return journal_;
  }

  /// @private
  struct views;

private:
  caf::error start_node(const std::string& seed);
  std::vector<std::string> endpoints(size_t i);

  cluster_options opts_;
  std::string journal_;
  std::shared_ptr<persistence::memory_store> store_;
  std::shared_ptr<views> views_;
  std::vector<std::unique_ptr<node>> nodes_;
  std::vector<bool> running_;
};

} // namespace troupe::testkit
