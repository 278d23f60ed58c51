// SPDX-License-Identifier: Apache-2.0
// A throwaway etcd for the tests: its own ports, data dir and process.
#pragma once

#include <chrono>
#include <string>

#include <sys/types.h>

namespace troupe::test {

/// One single-member etcd on 127.0.0.1, on ports that were free, with a
/// data dir of its own. The constructor waits for its /health; the
/// destructor kills it (by its PID only) and removes the dir. A test skips
/// when `available()` is false.
class etcd_server {
public:
  static constexpr const char* binary = "/usr/bin/etcd";

  static bool available();

  /// Starts etcd; throws std::runtime_error (with etcd's log) if it does
  /// not get healthy, after a few tries on other ports.
  etcd_server();

  ~etcd_server();

  etcd_server(const etcd_server&) = delete;
  etcd_server& operator=(const etcd_server&) = delete;

  /// `127.0.0.1:<client port>`.
  std::string endpoint() const;

  int client_port() const noexcept {
    return client_port_;
  }

  /// Kills the process (SIGKILL) and reaps it; the data dir stays.
  void kill();

  /// Freezes (SIGSTOP) or thaws (SIGCONT) the process: connections stay
  /// open and silent, as with a hung etcd.
  void freeze();
  void thaw();

  /// Starts it again on the same ports and data dir; waits for /health.
  void restart();

  pid_t pid() const noexcept {
    return pid_;
  }

  /// Whether GET /health says true.
  bool healthy() const;

private:
  // Spawns etcd and waits for /health; false if it exited first (a port
  // was taken) or stayed unhealthy.
  bool launch();
  void reap(std::chrono::milliseconds timeout);
  std::string log_tail() const;

  std::string dir_;
  int client_port_ = 0;
  int peer_port_ = 0;
  pid_t pid_ = -1;
};

/// A port on 127.0.0.1 that was free a moment ago.
int free_port();

} // namespace troupe::test
