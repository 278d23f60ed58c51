// SPDX-License-Identifier: Apache-2.0
// The launcher's one poll loop: output lines, exits and signals (see
// launch_fleet.hpp).
#include <iostream>

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "launch_fleet.hpp"

namespace launch {

void fleet::pump(int timeout_ms) {
  std::vector<pollfd> fds{{sigfd_, POLLIN, 0}};
  std::vector<std::pair<child*, int>> who{{nullptr, 0}}; // which fd is what
  for (auto& c : children_) {
    for (int i = 0; i < 2; ++i)
      if (c->fds[i] >= 0)
        fds.push_back({c->fds[i], POLLIN, 0}), who.emplace_back(c.get(), i);
    if (c->pidfd >= 0)
      fds.push_back({c->pidfd, POLLIN, 0}), who.emplace_back(c.get(), 2);
  }
  if (::poll(fds.data(), fds.size(), timeout_ms) <= 0)
    return;
  for (size_t k = 0; k < fds.size(); ++k) {
    if (fds[k].revents == 0)
      continue;
    auto [c, what] = who[k];
    if (c == nullptr) {
      signalfd_siginfo info{};
      if (::read(sigfd_, &info, sizeof(info)) == sizeof(info))
        signal_ = static_cast<int>(info.ssi_signo);
    } else if (what == 2) {
      on_exit(*c);
    } else {
      char buf[65536];
      auto n = ::read(c->fds[what], buf, sizeof(buf));
      if (n <= 0) { // EOF: the child (and anything it started) is done
        ::close(c->fds[what]);
        c->fds[what] = -1;
        n = 0;
      }
      auto& part = c->partial[what];
      part.append(buf, static_cast<size_t>(n));
      if (n == 0 && !part.empty())
        part += '\n';
      for (size_t pos; (pos = part.find('\n')) != std::string::npos;) {
        auto line = part.substr(0, pos);
        part.erase(0, pos + 1);
        c->log << line << '\n' << std::flush;
        if (c->echo && what == 0)
          std::cout << line << std::endl;
        (what == 0 ? c->out : c->err).push_back(std::move(line));
      }
    }
  }
}

outcome fleet::wait(const std::function<bool()>& done,
                    std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto seen = signal_;
  for (;;) {
    if (done())
      return outcome::done;
    if (signal_ != seen)
      return outcome::signaled;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return outcome::timed_out;
    pump(static_cast<int>(left.count()) + 1);
  }
}

} // namespace launch
