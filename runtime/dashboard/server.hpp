// SPDX-License-Identifier: Apache-2.0
// A node's web dashboard: an HTTP server on Boost.Beast with one I/O thread
// for every viewer, and one worker thread for the calls into the node that
// may block (snapshots, kills), so that a slow snapshot never stalls the
// page of another viewer. Boost stays behind this header (pimpl): neither
// the node's headers nor the installed package need it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace troupe {
class node;
} // namespace troupe

namespace troupe::dashboard {

/// The server's settings. The limits are its defences against hostile
/// clients; tests shorten the timeouts.
struct settings {
  std::string host = "127.0.0.1";
  /// 0: OS-chosen (see `server::port()`).
  uint16_t port = 0;
  /// Bearer token for actions (POST /api/kill); empty: actions refused.
  std::string token;
  /// PEM files of the certificate (chain) and key to serve HTTPS with;
  /// both empty: plain HTTP. With them, every connection starts with a
  /// TLS handshake (TLS 1.2 at least) within `read_timeout`; one that does
  /// not (plain HTTP to the HTTPS port) is closed. Browsers show no
  /// client certificate: the token guards the actions, as over HTTP.
  std::string tls_cert;
  std::string tls_key;
  /// Time a client has to send a whole request (headers and body), also
  /// the idle time of a kept-alive connection: a slow-loris client is
  /// dropped after it.
  std::chrono::milliseconds read_timeout{3000};
  /// Time a response (or an SSE event) may take to leave: a client that
  /// does not read is dropped after it.
  std::chrono::milliseconds write_timeout{10000};
  size_t max_header_bytes = 8 * 1024; // beyond: 431
  size_t max_body_bytes = 16 * 1024;  // beyond: 413
  /// Connections alive at once; one more is closed as it arrives.
  size_t max_connections = 128;
  /// Of those, live views (GET /api/events); one more gets 503.
  size_t max_viewers = 32;
  /// The sampler's period: at most one snapshot per period, and none
  /// while nobody views.
  std::chrono::milliseconds sample_period{1000};
  /// While nobody views, a snapshot this often keeps the history (the
  /// sparklines' last 15 minutes) going; 0: no history without a viewer.
  std::chrono::milliseconds history_period{5000};
  /// Bound on asking the other members for their trees.
  std::chrono::milliseconds snapshot_timeout{1000};
  /// An SSE comment this often keeps proxies from closing an idle view.
  std::chrono::milliseconds keepalive{15000};
};

/// Counters for tests and, later, the dashboard's own cost.
struct server_stats {
  uint64_t connections = 0; // accepted
  uint64_t refused = 0;     // closed at once: over max_connections
  uint64_t samples = 0;     // snapshots the sampler took for live views
  uint64_t history_samples = 0; // and for the history alone (no viewer)
  uint64_t viewers = 0;     // live views now
  uint64_t tls_refused = 0; // connections closed: no TLS handshake
};

class server {
public:
  /// Listens on `cfg.host:cfg.port` and starts the threads. Throws
  /// std::runtime_error when the port cannot be opened, or the TLS files
  /// cannot be read.
  server(node& owner, settings cfg);

  /// Stops (see `stop`).
  ~server();

  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// The port it listens on (still known after `stop`).
  uint16_t port() const noexcept;

  /// Whether it serves HTTPS (`settings::tls_cert`).
  bool tls() const noexcept;

  server_stats stats() const;

  /// Closes every connection and joins the threads (stats are zero
  /// after); waits at most for the
  /// node call the worker is in (bounded by `snapshot_timeout`).
  /// Idempotent.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_; // null once stopped
  uint16_t port_ = 0;
  bool tls_ = false;
};

} // namespace troupe::dashboard
