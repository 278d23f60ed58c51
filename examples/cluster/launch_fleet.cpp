// SPDX-License-Identifier: Apache-2.0
// How the launcher starts, watches and stops its processes (see the header).
#include "launch_fleet.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <stdexcept>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace launch {

namespace {

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP})
    sigaddset(&set, sig);
  return set;
}

} // namespace

fleet::fleet() {
  // Output to a closed pipe must not end the launcher before it has
  // stopped its processes: writes fail instead.
  ::signal(SIGPIPE, SIG_IGN);
  auto set = stop_signals();
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  sigfd_ = ::signalfd(-1, &set, SFD_CLOEXEC);
  if (sigfd_ < 0)
    throw std::runtime_error(std::string{"signalfd: "} + std::strerror(errno));
}

fleet::~fleet() {
  stop_all(std::chrono::seconds{15});
  ::close(sigfd_);
}

child& fleet::start(std::string name, const std::vector<std::string>& argv,
                    const std::string& log, bool echo) {
  auto c = std::make_unique<child>();
  c->name = std::move(name);
  c->echo = echo;
  c->log.open(log, std::ios::out | std::ios::trunc);
  if (!c->log)
    throw std::runtime_error("cannot write " + log);
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  auto parent = ::getpid();
  auto pid = ::fork();
  if (pid < 0)
    throw std::runtime_error(std::string{"fork: "} + std::strerror(errno));
  if (pid == 0) { // the child: async-signal-safe calls only, then exec
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent)
      ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int in = ::open("/dev/null", O_RDONLY);
    ::dup2(in, STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    ::execv(args[0], args.data());
    const char msg[] = "launch: exec failed\n";
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg, sizeof(msg) - 1);
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  c->pid = pid;
  c->fds[0] = out[0];
  c->fds[1] = err[0];
  c->pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  children_.push_back(std::move(c));
  return *children_.back();
}

void fleet::on_exit(child& c) {
  int status = 0;
  if (::waitpid(c.pid, &status, 0) == c.pid)
    c.exit_code =
        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  else
    c.exit_code = -1;
  ::close(c.pidfd);
  c.pidfd = -1;
}

void fleet::stop_all(std::chrono::milliseconds grace) {
  // The last one started (the example's client) first, then the others in
  // start order, each after the one before has exited: the first node is
  // where supervisors place children on the others, and it stops them in
  // order before their nodes go (stopping those first would make it restart
  // them elsewhere, and give up after a few).
  std::vector<child*> order;
  for (auto& c : children_)
    order.push_back(c.get());
  if (!order.empty())
    std::rotate(order.begin(), order.end() - 1, order.end());
  for (auto* c : order) {
    if (c->exit_code)
      continue;
    ::kill(c->pid, SIGTERM);
    // A signal that comes in meanwhile does not cut this short.
    auto deadline = std::chrono::steady_clock::now() + grace;
    auto exited = [c] {
      return c->exit_code.has_value();
    };
    while (!exited() && std::chrono::steady_clock::now() < deadline)
      wait(exited, std::chrono::duration_cast<std::chrono::milliseconds>(
                       deadline - std::chrono::steady_clock::now()));
    if (!exited()) {
      std::cerr << "launch: " << c->name << " (pid " << c->pid
                << ") ignored SIGTERM for " << grace.count()
                << " ms; sending SIGKILL\n";
      ::kill(c->pid, SIGKILL);
      wait(exited, std::chrono::seconds{5});
    }
  }
}

} // namespace launch
