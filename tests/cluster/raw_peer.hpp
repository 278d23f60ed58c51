// SPDX-License-Identifier: Apache-2.0
#pragma once

// A raw TCP connection to a node's port on 127.0.0.1, for tests that write
// what no troupe node would.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "loopback.hpp"

namespace troupe::test {

struct raw_peer {
  int fd = -1;

  explicit raw_peer(uint16_t port) {
    fd = connect_loopback(port);
  }

  ~raw_peer() {
    close();
  }

  raw_peer(const raw_peer&) = delete;
  raw_peer& operator=(const raw_peer&) = delete;

  void close() {
    if (fd >= 0)
      ::close(fd);
    fd = -1;
  }

  /// Whether all of `bytes` went out.
  bool write(const std::string& bytes) const {
    auto n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    return n == static_cast<ssize_t>(bytes.size());
  }

  /// How long the node took to close the connection (EOF or reset),
  /// reading and discarding what it sends until then; nothing if it was
  /// still open after `timeout` (a safety net: the node closes first).
  std::optional<std::chrono::milliseconds>
  until_closed(std::chrono::milliseconds timeout) const {
    auto start = std::chrono::steady_clock::now();
    auto deadline = start + timeout;
    char buf[256];
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return std::nullopt;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        return std::nullopt;
      if (::recv(fd, buf, sizeof(buf), 0) <= 0)
        return std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
    }
  }

  /// Waits (bounded) until the node closes the connection.
  bool closed_by_peer(std::chrono::milliseconds timeout) const {
    return until_closed(timeout).has_value();
  }
};

} // namespace troupe::test
