// SPDX-License-Identifier: Apache-2.0
// A listener on 127.0.0.1 that plays a broken etcd: it answers every
// request with fixed bytes, or never answers.
#pragma once

#include <atomic>
#include <string>
#include <thread>

namespace troupe::test {

class fake_endpoint {
public:
  /// Answers each request with `answer` and closes; with `silent`, reads
  /// the request and holds the connection without a word until stopped.
  explicit fake_endpoint(std::string answer, bool silent = false);

  ~fake_endpoint();

  fake_endpoint(const fake_endpoint&) = delete;
  fake_endpoint& operator=(const fake_endpoint&) = delete;

  /// `127.0.0.1:<port>`.
  std::string endpoint() const;

  /// Requests read so far.
  int requests() const noexcept {
    return requests_.load();
  }

private:
  void serve();

  std::string answer_;
  bool silent_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

/// `HTTP/1.1 200 OK` with `body`.
std::string http_ok(const std::string& body);

} // namespace troupe::test
