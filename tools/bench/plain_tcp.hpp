// SPDX-License-Identifier: Apache-2.0
// Plain blocking TCP ping-pong on 127.0.0.1 (bench_remote.cpp): the floor the
// actor runtimes are measured against. No actors, no serialization, no event
// loop: the client writes a 64-byte frame and blocks reading the echo, the
// server blocks reading a frame and writes it back; TCP_NODELAY on both ends.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "remote_common.hpp"

namespace bench::remote::tcp {

/// Bytes per frame, as the payload of the actor benchmarks.
constexpr size_t frame_size = 64;

/// Reads exactly `n` bytes; false at EOF or on an error.
inline bool read_all(int fd, char* buf, size_t n) {
  while (n > 0) {
    auto k = read(fd, buf, n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return false;
    buf += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

/// Writes exactly `n` bytes; false on an error.
inline bool write_all(int fd, const char* buf, size_t n) {
  while (n > 0) {
    auto k = write(fd, buf, n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return false;
    buf += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

inline void set_no_delay(int fd) {
  int on = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) != 0)
    fail("setsockopt(TCP_NODELAY) failed");
}

inline sockaddr_in loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

/// The server (`serve tcp`): listens on an OS-chosen port of 127.0.0.1,
/// prints `PORT <n>`, then echoes the frames of one client until it hangs up.
inline int serve() {
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto addr = loopback(0);
  socklen_t len = sizeof(addr);
  if (lfd < 0 || bind(lfd, reinterpret_cast<sockaddr*>(&addr), len) != 0
      || listen(lfd, 1) != 0
      || getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    fail("cannot listen on 127.0.0.1");
  std::printf("PORT %u\n", static_cast<unsigned>(ntohs(addr.sin_port)));
  std::fflush(stdout);
  int fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0)
    fail("accept failed");
  close(lfd);
  set_no_delay(fd);
  char frame[frame_size];
  while (read_all(fd, frame, frame_size) && write_all(fd, frame, frame_size))
    ; // echo until the client hangs up
  close(fd);
  return 0;
}

/// The client: connects to the server at `port`, warms the connection up,
/// then times `n` round trips of one frame each.
inline sample ping_pong(uint16_t port, uint64_t n) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto addr = loopback(port);
  if (fd < 0
      || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    fail("cannot connect to 127.0.0.1:" + std::to_string(port));
  set_no_delay(fd);
  char frame[frame_size];
  std::memcpy(frame, payload_bytes.data(), frame_size);
  std::vector<int64_t> rtt_ns;
  rtt_ns.reserve(n);
  sample s;
  // Same warm-up as the actor runs: up to 1,000 round trips, not timed.
  for (auto count : {std::min<uint64_t>(n, 1000), n}) {
    rtt_ns.clear();
    auto t0 = bench::clock::now();
    for (uint64_t seq = 0; seq < count; ++seq) {
      std::memcpy(frame, &seq, sizeof(seq)); // so each frame differs
      auto sent = bench::clock::now();
      if (!write_all(fd, frame, frame_size) || !read_all(fd, frame, frame_size))
        fail("plain TCP echo server hung up");
      rtt_ns.push_back((bench::clock::now() - sent).count());
    }
    s = summarize(rtt_ns, bench::seconds_since(t0));
  }
  close(fd);
  return s;
}

} // namespace bench::remote::tcp
