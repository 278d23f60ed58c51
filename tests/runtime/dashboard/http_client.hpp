// SPDX-License-Identifier: Apache-2.0
// A small blocking HTTP client on a raw socket, for the dashboard's tests:
// it sends exactly the bytes a test writes (hostile ones too) and reads
// with a deadline, so no test waits on a bare sleep or forever.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loopback.hpp"

namespace troupe::test {

class http_client {
public:
  explicit http_client(uint16_t port) {
    fd_ = connect_loopback(port);
  }
  ~http_client() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  http_client(http_client&& other) noexcept
    : fd_(other.fd_), in_(std::move(other.in_)), closed_(other.closed_) {
    other.fd_ = -1;
  }
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  bool connected() const {
    return fd_ >= 0;
  }

  /// Sends all of `bytes`; false when the server closed or reset.
  bool send(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      auto n = ::send(fd_, bytes.data() + done, bytes.size() - done,
                      MSG_NOSIGNAL);
      if (n <= 0)
        return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

  /// Reads what arrives until `until` returns true on the bytes so far, the
  /// server closes, or `timeout` passes. Returns whether `until` held.
  template <class Pred>
  bool read_until(Pred until, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!until(in_)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || closed_)
        return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        continue;
      char buf[65536];
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        return until(in_);
      }
      in_.append(buf, static_cast<size_t>(n));
    }
    return true;
  }

  /// Waits until the server closes the connection (or `timeout`).
  bool wait_closed(std::chrono::milliseconds timeout) {
    read_until([](const std::string&) { return false; }, timeout);
    return closed_;
  }

  /// Everything read so far.
  std::string& received() {
    return in_;
  }

  bool closed() const {
    return closed_;
  }

private:
  int fd_ = -1;
  std::string in_;
  bool closed_ = false;
};

/// A response read whole (Connection: close).
struct http_response {
  int status = 0;
  std::string head; // status line and headers
  std::string body;
};

/// Parses the start of `raw` as a response; status 0 if it is not one.
inline http_response parse_response(const std::string& raw) {
  http_response out;
  auto end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || end == std::string::npos)
    return out;
  out.head = raw.substr(0, end);
  out.status = std::stoi(raw.substr(9, 3));
  out.body = raw.substr(end + 4);
  return out;
}

/// One request with `Connection: close`, read to the server's close.
inline http_response
request(uint16_t port, const std::string& method, const std::string& target,
        const std::string& extra_headers = "", const std::string& body = "",
        std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
  http_client c{port};
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Connection: close\r\n" + extra_headers;
  if ((!body.empty() || method == "POST")
      && extra_headers.find("Content-Length") == std::string::npos)
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  if (!c.connected() || !c.send(req))
    return {};
  c.wait_closed(timeout);
  return parse_response(c.received());
}

} // namespace troupe::test
