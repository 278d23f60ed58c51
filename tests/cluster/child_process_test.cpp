// SPDX-License-Identifier: Apache-2.0
// A sanitizer report in a child process fails the test that started it,
// whatever the test expected of the child (sanitizer builds only); a child
// does not outlive the process that started it.
#include <csignal>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include "child_process.hpp"

using troupe::test::child_process;
using troupe::test::program;

namespace {

// Runs the probe with `what` to its exit; the child_process's destructor
// reports the finding as a test failure, which this expects.
[[maybe_unused]] void expect_report_fails_test(const std::string& what,
                              const std::string& report) {
  std::optional<int> code;
  std::string found;
  auto run = [&] {
    child_process probe{{program("troupe_sanitizer_probe"), what}};
    code = probe.wait_exit();
    found = probe.sanitizer_report();
  };
  EXPECT_NONFATAL_FAILURE(run(), "sanitizer report from child");
  EXPECT_NE(found.find(report), std::string::npos) << found;
  // halt_on_error (tools/dev): the child stops at the finding.
  ASSERT_TRUE(code);
  EXPECT_NE(*code, 0);
}

} // namespace

TEST(ChildProcess, SanitizerReportInChildFailsTheTest) {
#if defined(__SANITIZE_THREAD__)
  expect_report_fails_test("race", "WARNING: ThreadSanitizer: data race");
#elif defined(__SANITIZE_ADDRESS__)
  expect_report_fails_test("use-after-free",
                           "ERROR: AddressSanitizer: heap-use-after-free");
  expect_report_fails_test("overflow", "runtime error: signed integer overflow");
#else
  GTEST_SKIP() << "not a sanitizer build (TROUPE_SANITIZE)";
#endif
}

TEST(ChildProcess, CleanChildHasNoSanitizerReport) {
  child_process probe{{program("troupe_sanitizer_probe"), "none"}};
  EXPECT_EQ(probe.wait_exit(), 2);
  EXPECT_EQ(probe.sanitizer_report(), "") << probe.output();
}

namespace {

/// The parent PID of `pid`, from /proc/<pid>/stat; -1 if it is gone.
pid_t parent_of(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string stat;
  if (!std::getline(in, stat))
    return -1;
  // "pid (comm) state ppid ...": comm may hold spaces, so read after ')'.
  std::istringstream rest{stat.substr(stat.rfind(')') + 1)};
  char state = 0;
  pid_t ppid = -1;
  rest >> state >> ppid;
  return ppid;
}

} // namespace

TEST(ChildProcess, AChildDiesWithTheProcessThatStartedIt) {
  // The probe starts a child through child_process and is then killed,
  // so no destructor stops that child: the death signal must.
  child_process probe{{program("troupe_orphan_probe")}};
  auto line = probe.wait_for_line("CHILD pid=");
  ASSERT_TRUE(line) << probe.output();
  auto pid = static_cast<pid_t>(std::stoi(line->substr(line->find('=') + 1)));
  // A pidfd names that very process (no PID reuse); checked to be the
  // probe's child while the probe still lives.
  auto fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  ASSERT_GE(fd, 0) << "the child is already gone";
  ASSERT_EQ(parent_of(pid), probe.pid());
  probe.signal(SIGKILL);
  EXPECT_EQ(probe.wait_exit(), 128 + SIGKILL);
  pollfd pfd{fd, POLLIN, 0};
  auto rc = ::poll(&pfd, 1, 10000); // readable once it has exited
  EXPECT_EQ(rc, 1) << "the child outlived the process that started it";
  if (rc != 1)
    ::syscall(SYS_pidfd_send_signal, fd, SIGKILL, nullptr, 0);
  ::close(fd);
}

TEST(ChildProcess, ItsOutputSaysHowItEnded) {
  // Without wait_exit (a test that failed on a line that never came): the
  // exit is looked at, not reaped.
  child_process probe{{program("troupe_sanitizer_probe"), "none"}};
  EXPECT_FALSE(probe.wait_for_line("no such line"));
  for (int i = 0; i < 100 && probe.ending().find("exited") == std::string::npos;
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  EXPECT_NE(probe.output().find("exited with code 2]"), std::string::npos)
    << probe.output();
  EXPECT_EQ(probe.wait_exit(), 2); // still there to be reaped
  child_process sleeper{{"/bin/sleep", "30"}};
  EXPECT_EQ(sleeper.ending(), "");
  sleeper.signal(SIGKILL);
  EXPECT_EQ(sleeper.wait_exit(), 128 + SIGKILL);
  EXPECT_NE(sleeper.output().find("killed by signal 9"), std::string::npos)
    << sleeper.output();
}

TEST(ChildProcess, AProgramThatCannotStartThrowsWithTheReason) {
  try {
    child_process missing{{program("no_such_program")}};
    FAIL() << "started a program that does not exist";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string{e.what()}.find("No such file or directory"),
              std::string::npos)
      << e.what();
  }
}
