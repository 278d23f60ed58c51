// SPDX-License-Identifier: Apache-2.0
// The launcher: a local cluster for an example, its tree, and not one
// process left behind, whether the example succeeds, fails or is stopped.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "child_process.hpp"
#include "output.hpp"
#include "runtime/persistence/postgres_server.hpp"

using troupe::test::child_process;
using troupe::test::has_line;
using troupe::test::match_line;

namespace {

// The "NODE <name> pid=<pid>" lines: every process the launcher started.
std::map<std::string, pid_t> started(const child_process& launch) {
  std::map<std::string, pid_t> out;
  for (auto& line : launch.lines())
    if (auto m = match_line({line}, "^NODE (\\S+) pid=(\\d+) "); !m.empty())
      out[m[0]] = static_cast<pid_t>(std::stol(m[1]));
  return out;
}

// Each of them is gone (the launcher reaped them, so the PID is free).
void expect_all_gone(const child_process& launch, size_t count) {
  auto pids = started(launch);
  EXPECT_EQ(pids.size(), count) << launch.output();
  for (auto& [name, pid] : pids) {
    errno = 0;
    EXPECT_EQ(::kill(pid, 0), -1) << name << " (pid " << pid << ") still runs";
    EXPECT_EQ(errno, ESRCH) << name;
  }
}

// A folder for one test's logs, removed afterwards.
struct log_folder {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("launch-test-" + std::to_string(::getpid()) +
                                "-" + std::to_string(++count));
  ~log_folder() {
    std::filesystem::remove_all(path);
  }
  static inline int count = 0;
};

} // namespace

TEST(Launch, RunsBankOnThreeNodesPrintsTheTreeAndStopsEveryProcess) {
  log_folder logs;
  child_process launch{{TROUPE_LAUNCH_BIN, "--nodes", "3", "--logs",
                        logs.path.string(), "bank", "--transfers", "4000"}};
  ASSERT_EQ(launch.wait_exit(std::chrono::seconds{100}), 0) << launch.output();
  auto lines = launch.lines();
  EXPECT_TRUE(has_line(lines, "^CLUSTER 3 nodes up"));
  EXPECT_TRUE(has_line(lines, "^actors: .*: conserved")) << launch.output();
  auto tree = match_line(lines, "^\\$ troupe tree (127\\.0\\.0\\.1:\\d+)$");
  ASSERT_EQ(tree.size(), 1u) << launch.output();
  // The bank's tree: on n1, accounts placed on n2 and n3; the crashed one
  // restarted once, with its failure.
  EXPECT_TRUE(has_line(lines, "account-5 @n[23] +worker +bank.account +running "
                              "+1 .*injected crash"))
      << launch.output();
  // Each account shows its persistence id, its last sequence number and how
  // long it took to recover.
  EXPECT_TRUE(has_line(lines, "account-0 @n[23] +worker +bank.account +running "
                              "+0 .*persistence id 'bank.account\\|account-0' "
                              "seq [1-9][0-9]*, recovered in [0-9.]+ ms"))
      << launch.output();
  EXPECT_TRUE(has_line(lines, "^crash: its supervisor restarted it "
                              "\\(restarts=1\\), balance now \\d+ \\(kept\\); "
                              "total 100000 -> 100000: conserved"))
      << launch.output();
  for (auto node : {"n1", "n2", "n3"})
    EXPECT_TRUE(has_line(lines, std::string{"^"} + node + "  up  "))
        << node << "\n"
        << launch.output();
  for (auto name : {"n1", "n2", "n3", "run"}) {
    EXPECT_TRUE(
        has_line(lines, std::string{"^STOPPED "} + name + " pid=\\d+ exit=0$"))
        << name << "\n"
        << launch.output();
    EXPECT_TRUE(
        std::filesystem::exists(logs.path / (std::string{name} + ".log")));
  }
  expect_all_gone(launch, 4);
}

// The bank's kill drill: the node that hosts an account is killed with
// SIGKILL a third into the transfers; its accounts are moved to the live
// node and recover from the shared SQLite journal; clients retry by
// operation id; not a cent is lost or made.
TEST(Launch, BankKeepsEveryCentWhenANodeHostingAccountsIsKilled) {
  log_folder logs;
  child_process launch{{TROUPE_LAUNCH_BIN, "--nodes", "3", "--logs",
                        logs.path.string(), "bank", "--transfers", "2000",
                        "--kill-drill", "3000"}};
  ASSERT_EQ(launch.wait_exit(std::chrono::seconds{100}), 0) << launch.output();
  auto lines = launch.lines();
  EXPECT_TRUE(has_line(lines, "^kill -9: the node hosting account-3 .* total "
                              "100000 -> 100000: conserved"))
      << launch.output();
  // Exactly one node died of the drill's SIGKILL; the others stopped cleanly.
  EXPECT_EQ(match_line(lines, "^STOPPED (n[23]) pid=\\d+ exit=137$").size(), 1u)
      << launch.output();
  for (auto name : {"n1", "run"})
    EXPECT_TRUE(
        has_line(lines, std::string{"^STOPPED "} + name + " pid=\\d+ exit=0$"))
        << name << "\n"
        << launch.output();
  expect_all_gone(launch, 4);
}

// The same across machines' worth of setup: 3 nodes and PostgreSQL. The
// killed node's accounts come back on the live node with their balances
// (the total would drop otherwise) from the database every node shares.
TEST(Launch, BankOnPostgresqlKeepsEveryCentWhenANodeHostingAccountsIsKilled) {
  auto& pg = troupe::test::postgres_server::shared();
  auto db = pg.fresh_database("bank");
  log_folder logs;
  child_process launch{{TROUPE_LAUNCH_BIN, "--nodes", "3", "--logs",
                        logs.path.string(), "--journal", db, "bank",
                        "--transfers", "2000", "--kill-drill", "3000"}};
  ASSERT_EQ(launch.wait_exit(std::chrono::seconds{100}), 0) << launch.output();
  auto lines = launch.lines();
  EXPECT_TRUE(has_line(lines, "^crash: .*balance now \\d+ \\(kept\\); total "
                              "100000 -> 100000: conserved"))
      << launch.output();
  EXPECT_TRUE(has_line(lines, "^kill -9: the node hosting account-3 .* total "
                              "100000 -> 100000: conserved"))
      << launch.output();
  EXPECT_EQ(match_line(lines, "^STOPPED (n[23]) pid=\\d+ exit=137$").size(), 1u)
      << launch.output();
  // Every node logged that it keeps its state in PostgreSQL.
  for (auto name : {"n1", "n2", "n3"}) {
    std::ifstream in{logs.path / (std::string{name} + ".log")};
    std::string text{std::istreambuf_iterator<char>{in}, {}};
    EXPECT_NE(text.find("(postgresql)"), std::string::npos) << name;
  }
  expect_all_gone(launch, 4);
}

TEST(Launch, RunsWordcountOnTwoNodes) {
  log_folder logs;
  child_process launch{{TROUPE_LAUNCH_BIN, "--nodes", "2", "--logs",
                        logs.path.string(), "wordcount"}};
  ASSERT_EQ(launch.wait_exit(std::chrono::seconds{100}), 0) << launch.output();
  EXPECT_TRUE(has_line(launch.lines(), "^match: yes$"));
  EXPECT_TRUE(has_line(launch.lines(), "^n2  up  "));
  expect_all_gone(launch, 3);
}

TEST(Launch, SigtermStopsTheClusterAndTheRun) {
  // A job far too long to finish: the signal comes while it runs.
  log_folder logs;
  child_process launch{{TROUPE_LAUNCH_BIN, "--nodes", "2", "--logs",
                        logs.path.string(), "bank", "--transfers",
                        "100000000"}};
  ASSERT_TRUE(
      launch.wait_for_line("bank: 10 accounts", std::chrono::seconds{60}))
      << launch.output();
  launch.signal(SIGTERM);
  EXPECT_EQ(launch.wait_exit(std::chrono::seconds{40}), 128 + SIGTERM)
      << launch.output();
  EXPECT_TRUE(launch.wait_for_line("stopping on signal 15"));
  expect_all_gone(launch, 3);
}

// Even SIGKILL, which the launcher cannot catch, leaves nothing behind: the
// kernel sends its processes SIGTERM when it dies (PR_SET_PDEATHSIG).
TEST(Launch, ItsProcessesStopWhenTheLauncherIsKilled) {
  log_folder logs;
  child_process launch{{TROUPE_LAUNCH_BIN, "--nodes", "2", "--logs",
                        logs.path.string(), "bank", "--transfers",
                        "100000000"}};
  ASSERT_TRUE(
      launch.wait_for_line("bank: 10 accounts", std::chrono::seconds{60}))
      << launch.output();
  // Not our children: watch them through pidfds, which report their exit.
  std::vector<int> fds;
  for (auto& [name, pid] : started(launch)) {
    fds.push_back(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    ASSERT_GE(fds.back(), 0) << name;
  }
  EXPECT_EQ(fds.size(), 3u);
  launch.signal(SIGKILL);
  EXPECT_EQ(launch.wait_exit(), 128 + SIGKILL);
  for (auto fd : fds) {
    pollfd pfd{fd, POLLIN, 0};
    EXPECT_EQ(::poll(&pfd, 1, 20000), 1) << "a process outlived the launcher";
    ::close(fd);
  }
}

TEST(Launch, FailingRunStillStopsEveryNode) {
  log_folder logs;
  child_process launch{{TROUPE_LAUNCH_BIN, "--nodes", "2", "--logs",
                        logs.path.string(), "bank", "--accounts", "none"}};
  EXPECT_EQ(launch.wait_exit(std::chrono::seconds{60}), 2) << launch.output();
  EXPECT_TRUE(launch.wait_for_line("the run failed (exit 2)"));
  EXPECT_TRUE(launch.wait_for_line("--accounts needs a positive number"));
  expect_all_gone(launch, 3);
}

TEST(Launch, BadInputIsAUsageError) {
  for (auto args : std::vector<std::vector<std::string>>{
           {"nope"},
           {"../bank"},
           {"launch"},
           {},
           {"--nodes", "0", "bank"},
           {"--nodes", "2", "--ports", "4001,4002,4003", "bank"},
           {"--ports", "4001,x", "bank"},
           {"--timeout", "soon", "bank"},
           {"--bogus", "bank"}}) {
    args.insert(args.begin(), TROUPE_LAUNCH_BIN);
    child_process launch{args};
    EXPECT_EQ(launch.wait_exit(), 2) << launch.output();
    EXPECT_TRUE(launch.wait_for_line("usage: launch")) << launch.output();
    EXPECT_TRUE(started(launch).empty()) << launch.output();
  }
}
