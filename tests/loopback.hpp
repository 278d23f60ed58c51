// SPDX-License-Identifier: Apache-2.0
// Sockets on 127.0.0.1 for tests: a listener on a port the OS chooses, a
// connection to a port, and a port that was free a moment ago. The brief's
// rule for multi-node tests: 127.0.0.1 and OS-chosen ports, nothing else.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace troupe::test {

inline sockaddr_in loopback_address(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  return addr;
}

/// A socket listening on 127.0.0.1 at a port the OS chose (written to
/// `port`); throws naming `who` if there is none.
inline int listen_loopback(uint16_t& port, const char* who,
                           int backlog = 64) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto addr = loopback_address(0);
  socklen_t len = sizeof(addr);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0
      || ::listen(fd, backlog) != 0
      || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0)
      ::close(fd);
    throw std::runtime_error(std::string{who}
                             + ": cannot listen on 127.0.0.1");
  }
  port = ntohs(addr.sin_port);
  return fd;
}

/// A port on 127.0.0.1 that was free a moment ago (taken, read, closed),
/// for a server the test starts that cannot be told to choose its own.
inline uint16_t free_loopback_port(const char* who) {
  uint16_t port = 0;
  ::close(listen_loopback(port, who));
  return port;
}

/// A socket connected to 127.0.0.1:`port`, or -1.
inline int connect_loopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto addr = loopback_address(port);
  if (fd >= 0
      && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0)
    return fd;
  if (fd >= 0)
    ::close(fd);
  return -1;
}

} // namespace troupe::test
