// SPDX-License-Identifier: Apache-2.0
// The relay: one thread polling the listener and every pair of sockets.
#include "runtime/cluster/etcd/tcp_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <utility>
#include <vector>

#include "loopback.hpp"

namespace troupe::test {

tcp_proxy::tcp_proxy(int upstream_port)
    : upstream_port_(upstream_port) {
  uint16_t port = 0;
  fd_ = listen_loopback(port, "tcp_proxy");
  port_ = port;
  thread_ = std::thread{[this] {
    run();
  }};
}

tcp_proxy::~tcp_proxy() {
  stop_ = true;
  thread_.join();
  ::close(fd_);
}

std::string tcp_proxy::endpoint() const {
  return "127.0.0.1:" + std::to_string(port_);
}

void tcp_proxy::run() {
  // Pairs (client, upstream); a pair ends when either side does.
  std::vector<std::pair<int, int>> pairs;
  auto close_pair = [](std::pair<int, int>& x) {
    ::close(x.first);
    ::close(x.second);
    x = {-1, -1};
  };
  while (!stop_) {
    if (cut_)
      for (auto& x : pairs)
        close_pair(x);
    pairs.erase(std::remove_if(pairs.begin(), pairs.end(),
                               [](auto& x) {
                                 return x.first < 0;
                               }),
                pairs.end());
    std::vector<pollfd> fds{{fd_, POLLIN, 0}};
    for (auto& [a, b] : pairs) {
      fds.push_back({a, POLLIN, 0});
      fds.push_back({b, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), 20) <= 0)
      continue;
    auto polled = pairs.size(); // a pair accepted below was not polled
    if (fds[0].revents & POLLIN) {
      int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn >= 0) {
        int up = cut_ ? -1 : connect_loopback(static_cast<uint16_t>(upstream_port_));
        if (up < 0)
          ::close(conn);
        else
          pairs.emplace_back(conn, up);
      }
    }
    for (size_t i = 0; i < polled; ++i) {
      for (int side = 0; side < 2; ++side) {
        auto& p = fds[1 + 2 * i + side];
        if (pairs[i].first < 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR)))
          continue;
        int from = side == 0 ? pairs[i].first : pairs[i].second;
        int to = side == 0 ? pairs[i].second : pairs[i].first;
        char buf[16384];
        auto n = ::recv(from, buf, sizeof(buf), 0);
        if (n <= 0 ||
            ::send(to, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n)
          close_pair(pairs[i]);
      }
    }
  }
  for (auto& x : pairs)
    if (x.first >= 0)
      close_pair(x);
}

} // namespace troupe::test
