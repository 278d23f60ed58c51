// SPDX-License-Identifier: Apache-2.0
// A TCP relay on 127.0.0.1 that a test cuts and heals: one node's way to
// etcd, while the others keep theirs.
#pragma once

#include <atomic>
#include <string>
#include <thread>

namespace troupe::test {

class tcp_proxy {
public:
  /// Relays connections to 127.0.0.1:`upstream_port`.
  explicit tcp_proxy(int upstream_port);

  ~tcp_proxy();

  tcp_proxy(const tcp_proxy&) = delete;
  tcp_proxy& operator=(const tcp_proxy&) = delete;

  /// `127.0.0.1:<port>`.
  std::string endpoint() const;

  /// Closes every relayed connection and closes new ones as they come.
  void cut() {
    cut_ = true;
  }

  /// Relays again.
  void heal() {
    cut_ = false;
  }

private:
  void run();

  int upstream_port_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> cut_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

} // namespace troupe::test
