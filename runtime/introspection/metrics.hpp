// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>

namespace prometheus {
class Exposer;
} // namespace prometheus

namespace troupe {
class node;
} // namespace troupe

namespace troupe::detail {

/// A node's Prometheus endpoint: `GET /metrics` on `host:port` renders the
/// node's figures at scrape time (no background work between scrapes).
class metrics_endpoint {
public:
  /// Listens on `host:port` (0: OS-chosen). Throws on failure.
  metrics_endpoint(node& owner, const std::string& host, uint16_t port);

  ~metrics_endpoint();

  uint16_t port() const noexcept {
    return port_;
  }

private:
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<void> collector_;
  std::string host_;
  uint16_t port_ = 0;
};

} // namespace troupe::detail
