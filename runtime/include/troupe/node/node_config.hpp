// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "troupe/actor/request_spin.hpp"
#include "troupe/cluster/cluster.hpp"
#include "troupe/endpoint.hpp" // parse_endpoint
#include "troupe/log.hpp"

namespace troupe {

/// Where a node keeps the cluster's membership.
enum class membership_provider {
  /// Embedded: the node joins through its seeds and the members tell each
  /// other of the rest (the default).
  seeds,
  /// In etcd (v3): a key per member under a lease that the node keeps
  /// alive, and a watch on the others' keys (runtime/cluster/etcd/).
  etcd,
};

/// Where and how a node keeps its membership in etcd
/// (`membership_provider::etcd`).
struct etcd_settings {
  /// etcd's client endpoints (`host:port`), tried in turn.
  std::vector<std::string> endpoints{"127.0.0.1:2379"};
  /// Time-to-live of the node's lease: a node that stops renewing it
  /// (killed, frozen, cut off from etcd) leaves the view after it. The node
  /// renews it every third of it.
  std::chrono::milliseconds lease_ttl{3000};
};

/// Settings of one node. Defaults suit a small machine.
struct node_config {
  /// Name of the node in logs and tools. Default: `node-<pid>`.
  std::string name;
  /// Address the node listens on.
  std::string host = "127.0.0.1";
  /// Port the node listens on; 0 lets the OS choose (see `node::port()`).
  uint16_t port = 0;
  /// Other nodes (`host:port`) this node connects to when it starts.
  std::vector<std::string> seeds;
  /// Scheduler worker threads; 0 means one per core. CAF's own default,
  /// max(cores, 4), oversubscribes a small machine (see tools/bench).
  size_t threads = 0;
  /// The scheduler of the node's actors: troupe's (the default; see
  /// runtime/node/scheduler.hpp: idle workers sleep until work comes, a
  /// receiver runs next on its sender's worker), or CAF's own work
  /// stealing (`false`, `--scheduler caf`), which wakes idle workers every
  /// 10 ms.
  bool troupe_scheduler = true;
  /// Largest encoded Protobuf message this node sends or accepts, in bytes.
  size_t max_message_size = 4 * 1024 * 1024;
  /// Bound on each phase of an orderly shutdown.
  std::chrono::milliseconds shutdown_timeout{5000};
  /// Failure detection on every link to another node (on by default; see
  /// `failure_detector_settings`).
  failure_detector_settings failure_detector;
  /// Whether `start()` takes over SIGINT/SIGTERM (first one: orderly stop,
  /// second: default action). Off for short-lived client nodes inside a
  /// program that handles signals itself, such as the `troupe` tool.
  bool handle_signals = true;
  /// The cluster secret. When set (and TLS is not), every connection to or
  /// from this node, BASP's and the direct links', starts with a challenge
  /// that proves both ends know it (HMAC-SHA256 over fresh nonces; the
  /// secret never crosses the wire); a peer that fails it is refused.
  /// Operations that change the cluster from outside (`troupe kill`) must
  /// present it too. It authenticates but does not encrypt: use TLS for
  /// that. Never logged.
  std::string secret;
  /// TLS with mutual authentication between nodes (CAF's openssl module):
  /// PEM files of the cluster's CA, this node's certificate (signed by that
  /// CA) and its key. All three or none; a peer without a certificate of the
  /// same CA is refused. The direct links are TLS connections with the
  /// same files. See tools/tls/make-dev-ca.
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  /// Connections from other nodes and tools alive at once. A connection
  /// beyond it closes the oldest one still in its handshake; only when all
  /// have completed theirs is the new one closed as it arrives.
  size_t max_connections = 512;
  /// Of those, connections still in their handshake at once: a new one
  /// beyond it closes the oldest of them, so that idle or slow connections
  /// that never prove anything cannot keep members and tools out.
  size_t max_handshaking = 64;
  /// Time a new connection has to complete its handshake (secret challenge
  /// or TLS, then CAF's); a silent peer is dropped after it.
  std::chrono::milliseconds handshake_timeout{2000};
  /// Port of the Prometheus endpoint (`GET /metrics` on `host`); -1 (the
  /// default) keeps it off, 0 lets the OS choose (see
  /// `node::metrics_port()`).
  int metrics_port = -1;
  /// Port of the web dashboard (the live cluster tree on `host`, see
  /// docs/dashboard.md); -1 (the default) keeps it off, 0 lets the OS
  /// choose (see `node::http_port()`).
  int http_port = -1;
  /// Bearer token the dashboard's actions (kill) need; empty: the
  /// dashboard is read-only. Never logged.
  std::string http_token;
  /// Messages this node may have in flight to one other node through
  /// troupe handles; a sender that would exceed it waits (back-pressure).
  size_t flow_window = 4096;
  /// Whether messages to other nodes through troupe handles (and their
  /// answers) take troupe's direct links instead of CAF's BASP path (see
  /// docs/cluster.md, "Direct links"). Both ends must have them on.
  bool direct_links = true;
  /// The most a link reader polls its sockets after a frame before it
  /// sleeps: a sleeping thread wakes tens of microseconds late on a VM. The
  /// reader spins only while frames keep coming (the budget halves when a
  /// spin finds nothing, doubles when it finds a frame, up to this), so an
  /// idle node does not spin. 0 turns polling off (lowest CPU use, higher
  /// latency).
  std::chrono::microseconds link_spin{50};
  /// The most a thread that asks (`troupe::requester`, `troupe::ask`)
  /// polls for its answer, yielding, before it sleeps. Adaptive as the
  /// link readers' spin: only while answers come soon; a requester whose
  /// answers take long sleeps at once. 0: always sleep.
  std::chrono::microseconds request_spin = default_request_spin;
  /// Threads that read all of this node's direct links (an epoll loop
  /// each; a link stays on one): their number does not grow with the
  /// number of peers. 0: min(cores, 2).
  size_t link_readers = 0;
  /// Where persistent actors keep their state: `sqlite:PATH` (or a plain
  /// path; the embedded default backend, one file that the nodes of one
  /// machine may share; `?synchronous=normal` trades power-loss safety for
  /// speed), `postgresql://...` (every node of a cluster across machines
  /// points at the same database), `memory:` (tests; a store of its own)
  /// or `memory:NAME` (tests; the store of that name, shared by the nodes
  /// of one process, see `persistence::shared_memory_store`). Empty: this node
  /// runs no persistent actors (they fail to recover, saying so).
  std::string journal;
  /// Where the cluster's membership is kept: through the seeds (default) or
  /// in etcd, with `etcd`'s settings.
  membership_provider membership = membership_provider::seeds;
  etcd_settings etcd;
  /// Minimum level of troupe's log.
  log_level log = log_level::info;
};

/// The outcome of reading a node's configuration.
struct parsed_config {
  node_config config;
  /// Positional arguments (only accepted when the caller asked for them).
  std::vector<std::string> positional;
  /// True when `--help` was given; `help_text` then holds the usage.
  bool help = false;
  std::string help_text;
};

/// Reads a node's configuration from, in order of precedence, command-line
/// flags, environment variables (`TROUPE_NAME`, `TROUPE_HOST`, `TROUPE_PORT`,
/// `TROUPE_SEEDS`, `TROUPE_THREADS`, `TROUPE_MAX_MESSAGE_SIZE`,
/// `TROUPE_SHUTDOWN_TIMEOUT_MS`, `TROUPE_LOG_LEVEL`, `TROUPE_HEARTBEAT_MS`,
/// `TROUPE_FAILURE_TIMEOUT_MS`, `TROUPE_FLOW_WINDOW`, `TROUPE_METRICS_PORT`,
/// `TROUPE_HTTP_PORT`, `TROUPE_HTTP_TOKEN`,
/// `TROUPE_SECRET`, `TROUPE_TLS_CA`, `TROUPE_TLS_CERT`, `TROUPE_TLS_KEY`,
/// `TROUPE_MAX_CONNECTIONS`, `TROUPE_HANDSHAKE_TIMEOUT_MS`, ...)
/// and an INI file
/// (`--config FILE` or `TROUPE_CONFIG`), over the defaults above.
///
/// The INI file may group keys in sections: `[cluster.etcd]` then
/// `lease-ttl = 3s` is the flag `--cluster.etcd.lease-ttl` (also spelled
/// `--etcd-lease-ttl`). The membership keys are `cluster.membership`
/// (`seeds` or `etcd`; `TROUPE_MEMBERSHIP`), `cluster.etcd.endpoints`
/// (`host:port` list; `TROUPE_ETCD_ENDPOINTS`) and `cluster.etcd.lease-ttl`
/// (whole seconds, as etcd counts them: `3s`, `3000ms` or `3`; 1 s to 1 h;
/// `TROUPE_ETCD_LEASE_TTL`).
///
/// An unknown flag or key, a value of the wrong type, a port out of range,
/// a malformed seed or etcd endpoint, a bad duration or an unreadable file
/// yields `errc::bad_config` with a
/// one-line description.
caf::expected<parsed_config> parse_node_config(int argc,
                                               const char* const* argv,
                                               bool allow_positional = false);

} // namespace troupe
