// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace troupe::test {

/// A program the test starts, whose output (stdout and stderr, merged) the
/// test reads line by line. The destructor stops it (SIGTERM, then SIGKILL)
/// by its PID, so a failing test leaves nothing behind; and the child gets
/// SIGKILL when the test process dies without running destructors (a
/// sanitizer abort, ctest's timeout), through PR_SET_PDEATHSIG. That signal
/// follows the thread that started the child, so start children from the
/// test's own thread, not from a thread that ends before they should.
///
/// In sanitizer builds (tools/dev asan|tsan) the child is instrumented too:
/// a sanitizer report in its output fails the running test when the
/// child_process is destroyed, whatever the test expected of the child.
class child_process {
public:
  /// Starts `argv[0]` with `argv` and extra `env` entries ("KEY=value").
  child_process(std::vector<std::string> argv,
                std::vector<std::string> env = {});

  ~child_process();

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const noexcept {
    return pid_;
  }

  /// Waits until a line containing `needle` appears; returns that line.
  /// The timeout is a safety net for a broken test, not a synchronisation.
  /// Only lines from index `from` on count (see `line_count()`), so a test
  /// can wait for something to happen again.
  std::optional<std::string>
  wait_for_line(const std::string& needle,
                std::chrono::milliseconds timeout = std::chrono::seconds{10},
                size_t from = 0);

  /// Number of lines read so far.
  size_t line_count() const;

  /// Sends `sig` to the child.
  void signal(int sig);

  /// Blocks until the child is stopped (after SIGSTOP); false if it exited.
  bool wait_stopped();

  /// Waits for the child to exit; returns its exit code (128+N when killed
  /// by signal N), or nothing on timeout.
  std::optional<int>
  wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds{10});

  /// Every line read so far.
  std::vector<std::string> lines() const;

  /// Every line read so far, joined (for failure messages), then how the
  /// child ended if it did (`ending()`).
  std::string output() const;

  /// "[child <pid> exited with code N]" or "... killed by signal N (...)"
  /// once it has ended (looked at without reaping it), "... closed its
  /// output and still runs" after EOF; empty while it runs. Tells a child
  /// that died (a crash prints nothing in a plain build) from one that
  /// stopped talking.
  std::string ending() const;

  /// The first sanitizer report ("WARNING: ThreadSanitizer: ...", "ERROR:
  /// AddressSanitizer: ...", UBSan's "runtime error:") in the output read
  /// so far, from its first line to the end of the output; empty if none.
  std::string sanitizer_report() const;

private:
  void read_loop(int fd);

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::thread reader_;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
  bool eof_ = false;
};

/// Path of a program built next to the test binary (set by CMake).
std::string program(const std::string& name);

/// The command line of a troupe_cluster_node member named `name` on an
/// OS-chosen port, joining through `seed` (none: it is the seed).
std::vector<std::string> member_args(const std::string& name,
                                     const std::string& seed);

/// Waits for the "READY port=<p> ..." line troupe's test nodes print and
/// returns `<p>`; throws with the output if the node did not start.
std::string ready_port(child_process& node);

} // namespace troupe::test
