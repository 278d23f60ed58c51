// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "troupe/actor/spawn.hpp"
#include "troupe/cluster/cluster.hpp"
#include "troupe/node/node_config.hpp"
#include "troupe/supervision/child_spec.hpp"
#include "troupe/wire/type_registry.hpp"

namespace troupe {

namespace cluster {

class core;

} // namespace cluster

namespace persistence {

class journal_service;

} // namespace persistence

namespace wire {

class ClusterSnapshot;
class KillReply;
class NodeSnapshot;

} // namespace wire

namespace dashboard {

class server;

} // namespace dashboard

namespace detail {

class introspector;
class metrics_endpoint;
class node_caf_config;
struct run_waker;
struct node_access;

/// Names served by a node. Shared with the functors that release a name when
/// its actor ends, which may run after the node is gone.
struct name_table {
  std::mutex mtx;
  std::unordered_map<std::string, caf::actor> names;
};

} // namespace detail

/// One troupe node: a CAF actor system, its network endpoint and its names.
///
/// Lifecycle: construct with a config, add the Protobuf message types the
/// node exchanges with others (`add_message_type<T>()`), then `start()`.
/// `shutdown()` (also run by the destructor, and by `run()` on SIGINT or
/// SIGTERM) stops every actor the node knows of, drops registry entries and
/// published ports, and waits a bounded time: it never hangs on actors that
/// refuse to die (CAF 0.17's own `actor_system` destructor would).
///
/// The node listens on `host:port` and serves a directory actor there, so
/// other nodes reach its named actors with `lookup(host, port, name)`.
///
/// Thread safety: `add_message_type` and `start` belong to one thread before
/// the node runs; everything else may be called from any thread.
class node {
public:
  explicit node(node_config cfg = {});

  ~node();

  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Adds the generated Protobuf class `T` to the types this node sends to
  /// and accepts from other nodes. Call before `start()`.
  template <class T>
  node& add_message_type() {
    types().template add<T>();
    return *this;
  }

  /// Starts the actor system, opens the listening port and connects to the
  /// seeds (a seed that is down is logged, not fatal). Fails with
  /// `errc::bad_config` when the port cannot be opened.
  [[nodiscard]] caf::error start();

  /// Whether the node started and has not shut down.
  bool running() const noexcept {
    return state_.load() == run_state::running;
  }

  const node_config& config() const noexcept {
    return cfg_;
  }

  /// The node's name (the configured one, or `node-<pid>`).
  const std::string& name() const noexcept {
    return cfg_.name;
  }

  /// A number that changes every time a node process starts, and when the
  /// node is fenced by the cluster and rejoins.
  uint64_t incarnation() const noexcept;

  /// The port the node listens on (the OS-chosen one if configured as 0).
  uint16_t port() const noexcept {
    return port_;
  }

  /// The port of the node's direct links (OS-chosen; 0 when they are off
  /// or the node does not run). Other members learn it when they meet.
  uint16_t link_port() const noexcept;

  /// The port of the Prometheus endpoint, 0 when it is off.
  uint16_t metrics_port() const noexcept;

  /// The port of the web dashboard, 0 when it is off.
  uint16_t http_port() const noexcept;

  /// The CAF actor system. @pre `running()`
  caf::actor_system& system();

  /// Spawns a troupe actor (see `troupe::spawn`) that the node stops at
  /// shutdown.
  template <class F, class... Ts>
  caf::actor spawn(F fn, Ts&&... xs) {
    auto hdl = troupe::spawn(system(), std::move(fn), std::forward<Ts>(xs)...);
    track(hdl);
    return hdl;
  }

  /// Makes the node stop `hdl` at shutdown.
  void track(const caf::actor& hdl);

  /// Starts the root of the node's supervision tree (see
  /// `troupe::spawn_supervisor`). When the root fails (its restart intensity
  /// was exceeded all the way up), the node logs why and shuts down, and
  /// `run()` returns 1: the application ends with a clear error, as an OTP
  /// node does when its top supervisor gives up. Returns once the tree has
  /// started (OTP's `supervisor:start_link`): every supervisor in it has
  /// started its children, and their cluster-wide names are bound on this
  /// node (at most 30 s; called from inside an actor it does not wait).
  caf::actor start_root(supervisor_flags flags,
                        std::vector<child_spec> children);

  /// Serves `hdl` under `name` to this node and to other nodes. The name is
  /// released when the actor terminates. Fails if the name is taken.
  caf::error register_name(const std::string& name, const caf::actor& hdl);

  /// Releases `name`.
  void unregister_name(const std::string& name);

  /// Returns the local actor registered under `name`, or an invalid handle.
  caf::actor whereis(const std::string& name) const;

  /// Reaches the node at `host:port` and asks it for the actor registered
  /// under `name`. Like every handle of another node's actor that a node
  /// hands out (`whereis_global`, `spawn_on`, `spawn_placed`, `connect`,
  /// `ref`), the result keeps the actor's own address, and a request
  /// through it fails with `errc::node_down` as soon as that node is
  /// marked down (stock CAF would leave it to time out); a monitor on it
  /// fires when the actor ends or its node goes. Handles that arrive
  /// inside messages are CAF's own: pass them through `ref` for the same.
  caf::expected<caf::actor>
  lookup(const std::string& host, uint16_t port, const std::string& name,
         std::chrono::milliseconds timeout = std::chrono::seconds{5});

  /// Returns the directory actor of the node at `host:port`.
  caf::expected<caf::actor> connect(const std::string& host, uint16_t port);

  // -- cluster ---------------------------------------------------------------
  //
  // Every node is a cluster member. It joins through its seeds at start
  // (and keeps trying seeds that are not up yet), exchanges heartbeats with
  // every member, and marks a member down when its process dies (at once)
  // or it goes silent for `failure_detector.failure_timeout`. See
  // docs/cluster.md for fencing, the name registry and placement.

  /// The members as this node sees them, itself included.
  std::vector<member> members() const;

  /// Sends `listener` a `member_event` for every known member now, and one
  /// whenever a member's status changes.
  void subscribe_members(const caf::actor& listener);

  /// Joins the cluster of the node at `endpoint` (`host:port`), as a seed
  /// given at start would (Akka's `Cluster.join`). Returns whether it
  /// answered; if not, the node keeps trying in the background.
  bool join(const std::string& endpoint,
            std::chrono::milliseconds timeout = std::chrono::seconds{5});

  /// Sends `listener` a `name_event` for every cluster-wide name now, and
  /// one whenever a name is bound or released in this node's table.
  void subscribe_names(const caf::actor& listener);

  /// Leaves the cluster on purpose: members mark this node `left` (not
  /// down). `shutdown()` does it first.
  void leave();

  /// Makes `type` spawnable on this node by other nodes (and by
  /// `spawn_on` / `spawn_placed` here). Register the same types on every
  /// node that may host them.
  void add_actor_type(std::string type, actor_factory f);

  /// Spawns an actor of a registered `type` on the member `node_name`.
  caf::expected<caf::actor>
  spawn_on(const std::string& node_name, const std::string& type,
           caf::message args = {},
           std::chrono::milliseconds timeout = std::chrono::seconds{5});

  /// Spawns an actor of a registered `type` on a live member chosen by
  /// `how`.
  caf::expected<caf::actor>
  spawn_placed(const std::string& type, placement how,
               caf::message args = {},
               std::chrono::milliseconds timeout = std::chrono::seconds{5});

  /// Registers `hdl` under `name` cluster-wide. Fails with
  /// `errc::name_taken` while another live actor holds the name. The name
  /// goes when the actor terminates or its node is marked down. Two
  /// registrations made concurrently (or on both sides of a partition) are
  /// resolved the same way on every node, and the losing actor is stopped
  /// with `errc::name_conflict`.
  caf::error register_global(const std::string& name, const caf::actor& hdl);

  /// Like `register_global`, but takes the name from whoever holds it
  /// (what a supervisor does when it moves a child to another node).
  caf::error rebind_global(const std::string& name, const caf::actor& hdl);

  /// The actor that holds the cluster-wide `name` now, or an invalid handle
  /// (of another node: one that fails fast, see `lookup`).
  caf::actor whereis_global(const std::string& name) const;

  /// A handle that reaches whoever holds the cluster-wide `name` when a
  /// message is sent: it keeps working when the name moves to another
  /// actor or node, without asking again. Requests fail at once with
  /// `errc::name_not_found` while nobody holds the name, and with
  /// `errc::node_down` when the holder's node goes down while they are
  /// pending (stock CAF would leave them to time out).
  caf::actor global_ref(const std::string& name);

  /// Wraps `hdl` in a troupe handle with the same honest failure as
  /// `global_ref`; for another node's actor it keeps that actor's address.
  caf::actor ref(const caf::actor& hdl);

  /// A supervisor child that runs on the cluster: its first start spawns
  /// `type` on a live member chosen by `how` and binds `global_name` to it.
  /// A restart after a crash goes back to the same member while it is up;
  /// when its node goes down, the supervisor restarts it on a live node and
  /// the name moves with it, so `global_ref(global_name)` keeps working.
  child_spec remote_child(std::string id, std::string type,
                          std::string global_name,
                          placement how = placement::round_robin,
                          caf::message args = {});

  /// The cluster layer's counters.
  cluster_stats cluster_statistics() const;

  // -- introspection ----------------------------------------------------------
  //
  // Every node serves these under the local name "troupe.introspect"
  // (`wire::SnapshotRequest` -> `wire::ClusterSnapshot`, `wire::KillRequest`
  // -> `wire::KillReply`); the `troupe` tool asks it. Their result types
  // are Protobuf messages: include "troupe/node/introspection.hpp".

  /// This node's supervision trees (paths from "/root"), the actors outside
  /// them ("/unsupervised/..."), and their figures. Blocks for at most a
  /// few hundred ms per busy actor.
  wire::NodeSnapshot snapshot_local();

  /// This node's snapshot and every other member's, asked over the
  /// network; members that are down or do not answer within `timeout` are
  /// listed as unreachable with the reason.
  wire::ClusterSnapshot
  snapshot_cluster(std::chrono::milliseconds timeout = std::chrono::seconds{2});

  /// How `fail_actor` makes an actor fail (`troupe kill --mode`).
  enum class fail_mode {
    /// An exit message with `errc::handler_failed`: the actor ends, and its
    /// supervisor respawns it from its spec (a new address).
    exit,
    /// `troupe::fail_atom`: a troupe actor fails as if a handler had thrown,
    /// and its supervisor decides as for a real throw (restart in place, at
    /// the same address, unless the child is temporary; a child on another
    /// node cannot restart in place and is respawned).
    handler_throw,
  };

  /// Makes the actor at `path` in this node's trees fail (for drills); a
  /// child on another node is reached through its proxy. The reply names
  /// the actor and says in `text` what was done and what its supervisor
  /// does next. Errors: `errc::name_not_found` for an unknown path,
  /// `errc::bad_config` for `handler_throw` at a local actor that is not a
  /// troupe actor (a plain CAF actor cannot fail that way).
  caf::expected<wire::KillReply> fail_actor(const std::string& path,
                                            fail_mode mode = fail_mode::exit);

  /// Asks `run()` to return (as SIGINT would). Safe from any thread.
  void request_shutdown() noexcept;

  /// Blocks until SIGINT, SIGTERM or `request_shutdown()`, then shuts the
  /// node down. Returns 0 after a clean shutdown, 1 otherwise.
  ///
  /// From `start()` on, the first SIGINT or SIGTERM of the process is a
  /// shutdown request (seen by `run()` and `stop_requested()`); a second one
  /// ends the process with the default action.
  int run();

  /// Whether a signal or `request_shutdown()` asked the node to stop; for
  /// programs that do their own work instead of calling `run()`.
  bool stop_requested() const noexcept;

  /// Stops actors, drops names and published ports, then waits at most
  /// `shutdown_timeout` per phase. Returns true when every actor stopped in
  /// time; otherwise the actor system is abandoned (with an error in the log)
  /// rather than waited for forever. Idempotent.
  bool shutdown();

  /// Number of actors the CAF system still runs (0 once shut down).
  size_t running_actors() const;

  /// The journal of this node's persistent actors (null without the
  /// `journal` setting).
  std::shared_ptr<persistence::journal_service> journal() const {
    return journal_;
  }

private:
  // The test kit's way in (runtime/node/node_access.hpp, not installed).
  friend struct detail::node_access;
  // Introspection (runtime/introspection/introspector.hpp) walks the trees.
  friend class detail::introspector;

  enum class run_state { idle, running, stopping, stopped };

  wire::type_registry& types();

  void stop_roots(std::chrono::milliseconds timeout);
  void stop_actors(bool kill);
  // What a wait for the actors asked to stop ended with: all gone; only
  // ones troupe did not start (or cannot stop: scoped actors) left, which
  // it judges only when `judge_strangers`; or the timeout.
  enum class await_result { done, strangers, timed_out };
  await_result await_actors(std::chrono::milliseconds timeout,
                            bool judge_strangers = true);
  bool asked_are_done() const;
  bool finish(bool clean);
  void abandon_system();
  // Destroys an actor system that shutdown() kept for actors it did not
  // start (see node_shutdown.cpp).
  void release_kept_system();
  void close_network();
  void stop_basp();
  // The roots of this node's trees, and the other live actors it tracks or
  // hosts for other nodes (not its own services).
  struct actor_lists {
    std::vector<caf::actor> roots;
    std::vector<caf::actor> others;
  };
  actor_lists trees() const;
  // The handle users get for `hdl` (see `cluster::make_honest`).
  caf::actor honest(const caf::actor& hdl) const;

  // Waits until the tree under `root` has started (node_tree.cpp).
  void await_tree(const caf::actor& root);
  caf::expected<caf::actor> ask_spawn(const std::string& type,
                                      const std::string& where, placement how,
                                      caf::message args,
                                      std::chrono::milliseconds timeout);
  std::string describe_asked() const;

  node_config cfg_;
  uint16_t port_ = 0;
  std::atomic<run_state> state_{run_state::idle};
  std::unique_ptr<detail::node_caf_config> caf_cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  caf::actor directory_;
  caf::actor daemon_;
  caf::actor introspect_;
  std::unique_ptr<detail::metrics_endpoint> metrics_;
  std::unique_ptr<dashboard::server> dashboard_;
  std::unique_ptr<detail::introspector> introspection_;
  int64_t started_unix_ms_ = 0;
  std::shared_ptr<cluster::core> core_;
  std::shared_ptr<persistence::journal_service> journal_;

  mutable std::mutex mtx_;
  std::unique_ptr<detail::run_waker> waker_; // wakes run() (node.cpp)
  bool shutdown_requested_ = false;
  bool root_failed_ = false;
  std::vector<caf::actor_addr> tracked_;
  std::vector<caf::actor> roots_;
  size_t tracked_after_sweep_ = 0;
  std::vector<caf::actor_addr> asked_; // asked to exit during shutdown
  bool system_kept_ = false;
  std::shared_ptr<detail::name_table> names_
    = std::make_shared<detail::name_table>();
};

} // namespace troupe
