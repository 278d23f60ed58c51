// SPDX-License-Identifier: Apache-2.0
// The launcher's processes: each started by fork/exec in its own process
// group (a Ctrl-C reaches only the launcher, which stops them in order) and
// ended by SIGTERM from the kernel should the launcher die first. Their
// output comes through pipes, their exits through pidfds, and the
// launcher's own SIGINT/SIGTERM/SIGHUP through a signalfd: one poll loop
// waits on all of them, so every wait is on an event, bounded by a deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace launch {

/// One started process.
struct child {
  std::string name;
  pid_t pid = -1;
  int fds[2] = {-1, -1}; // stdout, stderr (-1 once closed)
  int pidfd = -1;
  std::ofstream log; // both streams, line by line
  bool echo = false; // also copy its stdout to ours
  std::string partial[2];
  std::vector<std::string> out, err; // complete lines so far
  std::optional<int> exit_code;      // 128+N when killed by signal N
};

enum class outcome { done, signaled, timed_out };

class fleet {
public:
  /// Blocks SIGINT, SIGTERM and SIGHUP (call before any thread starts, so
  /// that every thread inherits the mask) and reads them from a signalfd.
  fleet();

  /// Stops whatever still runs (see `stop_all`).
  ~fleet();

  fleet(const fleet&) = delete;
  fleet& operator=(const fleet&) = delete;

  /// Starts `argv` (argv[0] is a path); both output streams go to `log`.
  child& start(std::string name, const std::vector<std::string>& argv,
               const std::string& log, bool echo);

  /// Reads output and exits until `done()` holds, a signal arrives or
  /// `timeout` passes.
  outcome wait(const std::function<bool()>& done,
               std::chrono::milliseconds timeout);

  /// Stops every running child, one after the other (the last started
  /// first, then the others in start order): SIGTERM, up to `grace` to
  /// exit, then SIGKILL; reaps each. Bounded: (grace + 5 s) per child.
  void stop_all(std::chrono::milliseconds grace);

  /// The signal that interrupted a wait, 0 if none.
  int signal() const noexcept {
    return signal_;
  }

  const std::vector<std::unique_ptr<child>>& children() const noexcept {
    return children_;
  }

private:
  void pump(int timeout_ms);
  void on_exit(child& c);

  int sigfd_ = -1;
  int signal_ = 0;
  std::vector<std::unique_ptr<child>> children_;
};

} // namespace launch

namespace launch {

/// What `launch` was asked to do.
struct options {
  std::string program;           // the example's binary
  std::vector<std::string> args; // for its `run` mode
  long nodes = 3;
  std::vector<uint16_t> ports;       // empty: OS-chosen
  std::string logs;                  // empty: a new folder in /tmp
  std::chrono::seconds timeout{300}; // bound on the run
  // TLS: a folder with ca.pem and NAME.pem/NAME.key for n1..nN, run and
  // tool (tools/tls/make-dev-ca DIR n1 n2 n3 run tool). Empty: plaintext.
  std::string tls;
  std::string secret; // the cluster secret (plaintext clusters)
  // Every process's --journal; empty: sqlite:<logs>/journal.db.
  std::string journal;
};

/// Starts the cluster, runs the example, prints the tree, stops everything
/// (launch_cluster.cpp). Returns the exit code of the launcher.
int run(const options& opts);

} // namespace launch
