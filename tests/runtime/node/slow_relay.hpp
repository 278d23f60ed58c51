// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

#include "loopback.hpp"

namespace troupe::test {

/// A TCP relay on 127.0.0.1 (a port the OS picks) to `target` on
/// 127.0.0.1: a slow network. What the target sends on a connection reaches
/// the dialer only once `delay` has passed since that connection came in;
/// the dialer's bytes go through at once. One thread serves every
/// connection; the destructor stops it and closes them all.
class slow_relay {
public:
  slow_relay(uint16_t target, std::chrono::milliseconds delay)
    : target_(target), delay_(delay) {
    listener_ = listen_loopback(port_, "slow_relay", 16);
    stop_ = ::eventfd(0, EFD_CLOEXEC);
    thread_ = std::thread{[this] { run(); }};
  }

  ~slow_relay() {
    uint64_t one = 1;
    (void) !::write(stop_, &one, sizeof(one));
    thread_.join();
    for (auto& p : pairs_) {
      ::close(p.client);
      ::close(p.server);
    }
    ::close(listener_);
    ::close(stop_);
  }

  slow_relay(const slow_relay&) = delete;
  slow_relay& operator=(const slow_relay&) = delete;

  uint16_t port() const {
    return port_;
  }

private:
  using clock = std::chrono::steady_clock;

  struct pair {
    int client;
    int server;
    clock::time_point open_at; // when the server's bytes may pass
    bool done = false;
  };

  // Moves what `from` has to `to`; false when `from` closed or failed.
  static bool pass(int from, int to) {
    char buf[16384];
    auto n = ::read(from, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      return true;
    if (n <= 0)
      return false;
    for (ssize_t done = 0; done < n;) {
      auto w = ::send(to, buf + done, static_cast<size_t>(n - done),
                      MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return false;
      done += w;
    }
    return true;
  }

  void run() {
    for (;;) {
      std::vector<pollfd> fds{{stop_, POLLIN, 0}, {listener_, POLLIN, 0}};
      auto now = clock::now();
      int timeout = -1;
      for (auto& p : pairs_) {
        fds.push_back({p.done ? -1 : p.client, POLLIN, 0});
        bool open = now >= p.open_at;
        fds.push_back({p.done || !open ? -1 : p.server, POLLIN, 0});
        if (!p.done && !open) {
          auto ms = std::chrono::ceil<std::chrono::milliseconds>(p.open_at
                                                                 - now);
          timeout = timeout < 0 ? static_cast<int>(ms.count())
                                : std::min(timeout,
                                           static_cast<int>(ms.count()));
        }
      }
      if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR)
        return;
      if (fds[0].revents != 0)
        return;
      // The pairs polled this round (one accepted below waits for the next).
      auto polled = pairs_.size();
      if (fds[1].revents & POLLIN) {
        int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client >= 0) {
          int server = connect_loopback(target_);
          if (server < 0)
            ::close(client);
          else
            pairs_.push_back({client, server, clock::now() + delay_});
        }
      }
      for (size_t i = 0; i < polled; ++i) {
        auto& p = pairs_[i];
        auto c = fds[2 + 2 * i].revents;
        auto s = fds[3 + 2 * i].revents;
        if ((c != 0 && !pass(p.client, p.server))
            || (s != 0 && !pass(p.server, p.client))) {
          // Either end closed: so does the other (the fds stay open until
          // the relay ends, so none is reused while it runs).
          ::shutdown(p.client, SHUT_RDWR);
          ::shutdown(p.server, SHUT_RDWR);
          p.done = true;
        }
      }
    }
  }

  uint16_t target_;
  std::chrono::milliseconds delay_;
  uint16_t port_ = 0;
  int listener_ = -1;
  int stop_ = -1;
  std::vector<pair> pairs_; // only the relay's thread touches it
  std::thread thread_;
};

} // namespace troupe::test
