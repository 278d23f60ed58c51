// SPDX-License-Identifier: Apache-2.0
// A broken etcd on a socket: one thread, polling, bounded.
#include "runtime/cluster/etcd/fake_endpoint.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <vector>

#include "loopback.hpp"

namespace troupe::test {

namespace {

// Reads one request (header and Content-Length body) within ~2 s.
void read_request(int fd, const std::atomic<bool>& stop) {
  std::string in;
  size_t need = std::string::npos;
  for (int i = 0; i < 100 && !stop; ++i) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0)
      continue;
    char buf[4096];
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
      return;
    in.append(buf, static_cast<size_t>(n));
    auto end = in.find("\r\n\r\n");
    if (end == std::string::npos)
      continue;
    if (need == std::string::npos) {
      size_t length = 0;
      if (auto cl = in.find("Content-Length: "); cl != std::string::npos)
        length = std::stoul(in.substr(cl + 16));
      need = end + 4 + length;
    }
    if (in.size() >= need)
      return;
  }
}

} // namespace

std::string http_ok(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

fake_endpoint::fake_endpoint(std::string answer, bool silent)
    : answer_(std::move(answer))
    , silent_(silent) {
  uint16_t port = 0;
  fd_ = listen_loopback(port, "fake_endpoint");
  port_ = port;
  thread_ = std::thread{[this] {
    serve();
  }};
}

fake_endpoint::~fake_endpoint() {
  stop_ = true;
  thread_.join();
  ::close(fd_);
}

std::string fake_endpoint::endpoint() const {
  return "127.0.0.1:" + std::to_string(port_);
}

void fake_endpoint::serve() {
  std::vector<int> held; // silent connections, closed on stop
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0)
      continue;
    int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0)
      continue;
    read_request(conn, stop_);
    ++requests_;
    if (silent_) {
      held.push_back(conn);
      continue;
    }
    ::send(conn, answer_.data(), answer_.size(), MSG_NOSIGNAL);
    ::shutdown(conn, SHUT_WR);
    ::close(conn);
  }
  for (int fd : held)
    ::close(fd);
}

} // namespace troupe::test
