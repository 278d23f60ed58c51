// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/expected.hpp>

#include "troupe/log.hpp"
#include "troupe/wire/introspect.pb.h"

namespace troupe::tool {

/// A node's address as given on the command line.
struct endpoint {
  std::string host;
  uint16_t port = 0;
};

/// Parses `HOST:PORT` (the syntax of troupe's seeds). Fails with
/// `tool_errc::usage` and a message that quotes the input.
caf::expected<endpoint> parse_endpoint(const std::string& text);

/// Checks a supervision path such as `/root/workers/w1`: absolute, no empty
/// segment, no trailing slash. Fails with `tool_errc::usage`.
caf::expected<std::string> parse_actor_path(const std::string& text);

/// How the tool talks to a node.
struct client_options {
  /// Bound on the lookup of the service and on the request itself. A cluster
  /// snapshot waits for every member, so keep it above the node's own
  /// per-member timeout.
  std::chrono::milliseconds timeout{10000};
  /// Name the node serves its introspection actor under.
  std::string service = "troupe.introspect";
  /// Whether to ask for the whole cluster or only the node at the address.
  bool cluster = true;
  /// The client node's log level (its lines go to stderr): `top` turns it
  /// off, as they would draw over its screen.
  log_level log = log_level::warn;
  /// The cluster secret, when the cluster has one (it also authorises
  /// `kill`).
  std::string secret;
  /// TLS: the cluster's CA, and the tool's own certificate and key.
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
};

/// Asks the node at `ep` for a snapshot. Starts a private client node for the
/// duration of the call (no seeds, OS-chosen port, warnings only): it talks
/// to the node but never joins its cluster.
///
/// Errors: `tool_errc::unreachable` when the node cannot be reached or does
/// not answer in time, `tool_errc::failed` for anything else (such as a node
/// that serves no introspection service).
caf::expected<wire::ClusterSnapshot>
fetch_snapshot(const endpoint& ep, const client_options& opts = {});

/// Parses `--mode` of `kill`: "exit" (the default) or "throw". Fails with
/// `tool_errc::usage`.
caf::expected<wire::KillRequest::Mode> parse_kill_mode(const std::string& text);

/// Asks the node at `ep` to make the actor at `path` in its trees fail (a
/// drill): `EXIT` sends it an exit message (it ends, and its supervisor
/// respawns it from its spec at a new address), `THROW` makes a troupe
/// actor fail as a handler throw would (its supervisor decides: restart in
/// place, same address, unless the child is temporary). Paths are the
/// node's own (every node has a `/root`); a child it supervises on another
/// node is reached through that node. Errors as for `fetch_snapshot`, plus
/// `tool_errc::unknown_path` when the node has no actor at `path`, and
/// `tool_errc::failed` when it refuses (a wrong secret, `THROW` at a plain
/// CAF actor).
caf::expected<wire::KillReply> kill_actor(const endpoint& ep,
                                          const std::string& path,
                                          const std::string& secret,
                                          wire::KillRequest::Mode mode,
                                          const client_options& opts = {});

/// The line `troupe kill` prints: the node's own words (`reply.text()`),
/// or, from a node older than kill modes, what it must have done (an exit,
/// whatever `asked` was).
std::string kill_summary(const std::string& path, const wire::KillReply& reply,
                         wire::KillRequest::Mode asked);

} // namespace troupe::tool
