// SPDX-License-Identifier: Apache-2.0
#include "child_process.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>

#include <poll.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace troupe::test {

std::string program(const std::string& name) {
  return std::string{TROUPE_TEST_BIN_DIR} + "/" + name;
}

std::vector<std::string> member_args(const std::string& name,
                                     const std::string& seed) {
  std::vector<std::string> args{program("troupe_cluster_node"), "--name",
                                name, "--port", "0"};
  if (!seed.empty()) {
    args.emplace_back("--seeds");
    args.emplace_back(seed);
  }
  return args;
}

child_process::child_process(std::vector<std::string> argv,
                             std::vector<std::string> env) {
  // Everything the child needs is built before fork: between fork and exec
  // it only makes async-signal-safe calls (the test process has threads).
  std::vector<char*> args;
  for (auto& x : argv)
    args.push_back(x.data());
  args.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e)
    env_store.emplace_back(*e);
  for (auto& x : env)
    env_store.push_back(x);
  std::vector<char*> envp;
  for (auto& x : env_store)
    envp.push_back(x.data());
  envp.push_back(nullptr);
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  // Carries exec's errno to the parent; closed by a successful exec.
  int status[2];
  if (::pipe2(status, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    throw std::runtime_error("pipe failed");
  }
  auto parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    // The child dies with the test process, also when that one ends
    // without running destructors (a sanitizer abort, a crash, SIGKILL
    // from ctest's timeout). The signal comes when the thread that forked
    // ends: child_process is made on the test's main thread.
    int err = 0;
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
      err = errno;
    else if (::getppid() != parent)
      err = ESRCH; // the test process is already gone
    else if (::dup2(out[1], STDOUT_FILENO) < 0
             || ::dup2(out[1], STDERR_FILENO) < 0)
      err = errno;
    else {
      ::execve(args[0], args.data(), envp.data());
      err = errno;
    }
    while (::write(status[1], &err, sizeof(err)) < 0 && errno == EINTR) {
    }
    ::_exit(127);
  }
  auto fork_errno = errno;
  ::close(out[1]);
  ::close(status[1]);
  if (pid_ < 0) {
    ::close(out[0]);
    ::close(status[0]);
    throw std::runtime_error("cannot start " + argv[0]
                             + ": fork: " + std::strerror(fork_errno));
  }
  int err = 0;
  ssize_t n;
  while ((n = ::read(status[0], &err, sizeof(err))) < 0 && errno == EINTR) {
  }
  ::close(status[0]);
  if (n > 0) {
    ::close(out[0]);
    ::waitpid(pid_, nullptr, 0);
    exit_code_ = 127;
    throw std::runtime_error("cannot start " + argv[0] + ": "
                             + std::strerror(err));
  }
  reader_ = std::thread{[this, fd = out[0]] { read_loop(fd); }};
}

child_process::~child_process() {
  if (!exit_code_) {
    signal(SIGTERM);
    if (!wait_exit(std::chrono::seconds{5})) {
      signal(SIGKILL);
      wait_exit(std::chrono::seconds{5});
    }
  }
  if (reader_.joinable())
    reader_.join();
  // Every line is read now (EOF): a report printed at any point, also while
  // the child was being stopped, is seen here.
  if (auto report = sanitizer_report(); !report.empty())
    ADD_FAILURE() << "sanitizer report from child " << pid_ << ":\n"
                  << report;
}

void child_process::read_loop(int fd) {
  std::string partial;
  char buf[4096];
  for (;;) {
    auto n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    partial.append(buf, static_cast<size_t>(n));
    size_t pos;
    std::lock_guard<std::mutex> guard{mtx_};
    while ((pos = partial.find('\n')) != std::string::npos) {
      lines_.emplace_back(partial.substr(0, pos));
      partial.erase(0, pos + 1);
    }
    cv_.notify_all();
  }
  ::close(fd);
  std::lock_guard<std::mutex> guard{mtx_};
  if (!partial.empty())
    lines_.emplace_back(partial);
  eof_ = true;
  cv_.notify_all();
}

std::optional<std::string>
child_process::wait_for_line(const std::string& needle,
                             std::chrono::milliseconds timeout, size_t from) {
  std::unique_lock<std::mutex> guard{mtx_};
  size_t checked = from;
  std::optional<std::string> found;
  auto pred = [&] {
    for (; checked < lines_.size(); ++checked)
      if (lines_[checked].find(needle) != std::string::npos) {
        found = lines_[checked];
        return true;
      }
    return eof_;
  };
  cv_.wait_for(guard, timeout, pred);
  return found;
}

bool child_process::wait_stopped() {
  siginfo_t info{};
  // WNOWAIT leaves the state to be collected again (the exit is reaped
  // elsewhere).
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WSTOPPED | WNOWAIT) != 0)
    return false;
  return info.si_code == CLD_STOPPED;
}

size_t child_process::line_count() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return lines_.size();
}

void child_process::signal(int sig) {
  if (pid_ > 0 && !exit_code_)
    ::kill(pid_, sig);
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_code_)
    return exit_code_;
  // A pidfd becomes readable when the process exits: wait on that event,
  // with the timeout as a safety net only.
  auto fd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  if (fd < 0)
    throw std::runtime_error("pidfd_open failed");
  pollfd pfd{fd, POLLIN, 0};
  int rc;
  do
    rc = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  while (rc < 0 && errno == EINTR);
  ::close(fd);
  if (rc <= 0)
    return std::nullopt;
  int status = 0;
  if (::waitpid(pid_, &status, 0) != pid_)
    return std::nullopt;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  // Everything it wrote is read once the pipe reports EOF (a grandchild
  // holding the pipe open would keep it open: bounded by the timeout).
  std::unique_lock<std::mutex> guard{mtx_};
  cv_.wait_for(guard, timeout, [this] { return eof_; });
  return exit_code_;
}

std::vector<std::string> child_process::lines() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return lines_;
}

std::string child_process::output() const {
  std::string result;
  for (auto& line : lines())
    result += line + "\n";
  return result + ending();
}

std::string child_process::ending() const {
  std::optional<int> code = exit_code_;
  if (!code && pid_ > 0) {
    // Looks without reaping (WNOWAIT): wait_exit still collects the exit.
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid_), &info,
                 WEXITED | WNOHANG | WNOWAIT)
          == 0
        && info.si_pid == pid_)
      code = info.si_code == CLD_EXITED ? info.si_status
                                        : 128 + info.si_status;
  }
  std::string who = "[child " + std::to_string(pid_) + " ";
  if (code && *code > 128)
    return who + "killed by signal " + std::to_string(*code - 128) + " ("
           + strsignal(*code - 128) + ")]\n";
  if (code)
    return who + "exited with code " + std::to_string(*code) + "]\n";
  std::lock_guard<std::mutex> guard{mtx_};
  if (eof_)
    return who + "closed its output and still runs]\n";
  return "";
}

namespace {

bool starts_sanitizer_report(const std::string& line) {
  for (auto* kind : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "WARNING: ThreadSanitizer", "ERROR: ThreadSanitizer",
                     ": runtime error: "})
    if (line.find(kind) != std::string::npos)
      return true;
  return false;
}

} // namespace

std::string child_process::sanitizer_report() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::string result;
  bool in_report = false;
  for (auto& line : lines_) {
    in_report = in_report || starts_sanitizer_report(line);
    if (in_report)
      result += line + "\n";
  }
  return result;
}

std::string ready_port(child_process& node) {
  auto line = node.wait_for_line("READY port=");
  if (!line)
    throw std::runtime_error("node did not start:\n" + node.output());
  auto port = line->substr(line->find("port=") + 5);
  return port.substr(0, port.find(' '));
}

} // namespace troupe::test
