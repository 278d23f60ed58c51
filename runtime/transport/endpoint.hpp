// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/node_id.hpp>

#include "transport/guard.hpp"

namespace troupe::transport {

/// A node's way onto the network: publishes and connects like CAF's
/// middleman, through connections the guard watches (and TLS, when set).
/// Made after the actor system started; `stop()` before it ends.
class endpoint {
public:
  endpoint(caf::actor_system& sys, guard_settings cfg);
  ~endpoint();

  endpoint(const endpoint&) = delete;
  endpoint& operator=(const endpoint&) = delete;

  /// Listens on `host:port` (0: the OS chooses) for `whom`.
  caf::expected<uint16_t> publish(const caf::actor& whom, uint16_t port,
                                  const std::string& host);

  /// The actor published at `host:port`. Blocks until BASP's handshake ends
  /// (bounded by the guard's handshake timeout).
  caf::expected<caf::actor> connect(const std::string& host, uint16_t port);

  guard_stats stats() const;

  /// Closes this node's BASP connection to `nid`, as BASP's own timeout
  /// does: its proxies here end (monitors fire, `remote_link_unreachable`)
  /// and messages to it fail. For gossip detection, whose links carry no
  /// heartbeats: a member the cluster marked down is cut loose. Returns at
  /// once (done on the multiplexer's thread).
  void disconnect(const caf::node_id& nid);

  const guard_settings& settings() const { return guard_->settings(); }

  /// The node's network cuts (a test hook, see cuts.hpp).
  std::shared_ptr<net_cuts> cuts() const { return guard_->cuts(); }

  void stop();

private:
  caf::actor_system& sys_;
  std::shared_ptr<guard> guard_;
  caf::io::middleman_actor mm_;
};

/// Checks TLS files before the actor system starts (CAF's openssl module
/// throws from deep inside otherwise): all three set, readable, the key
/// matching the certificate, and the certificate signed by the CA.
caf::error check_tls(const tls_files& files);

} // namespace troupe::transport
