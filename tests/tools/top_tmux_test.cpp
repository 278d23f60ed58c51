// SPDX-License-Identifier: Apache-2.0
// `troupe top` in a real terminal: tmux runs it against the example cluster
// on a private server (its own socket, per test process), the test reads the
// screen with `capture-pane` and types with `send-keys`. Skipped without
// tmux. The screen is the event here: the test polls it, in bounded loops.
#include "child_process.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

using namespace std::chrono_literals;
using troupe::test::child_process;

namespace {

// `name` found in PATH, or "".
std::string find_in_path(const std::string& name) {
  auto* path = std::getenv("PATH");
  std::stringstream dirs{path != nullptr ? path : "/usr/bin:/bin"};
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    auto file = (dir.empty() ? std::string{"."} : dir) + "/" + name;
    if (::access(file.c_str(), X_OK) == 0)
      return file;
  }
  return "";
}

// The words of `line` (split at blanks).
std::vector<std::string> words(const std::string& line) {
  std::stringstream in{line};
  std::vector<std::string> out;
  for (std::string w; in >> w;)
    out.push_back(w);
  return out;
}

// The lines of `screen`.
std::vector<std::string> lines(const std::string& screen) {
  std::stringstream in{screen};
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

// The header: the first line of `screen`, or "".
std::string header_of(const std::string& screen) {
  return screen.substr(0, screen.find('\n'));
}

// The MSGS/S figure (the last column) of the row whose path is `path`, as
// shown; nothing if the screen has no such row.
std::optional<std::string> rate_of(const std::string& screen,
                                   const std::string& path) {
  for (auto& line : lines(screen)) {
    auto w = words(line);
    if (w.size() == 7 && w[1] == path)
      return w[6];
  }
  return std::nullopt;
}

// The MSGS/S figures of the rows, top to bottom.
std::vector<double> rates(const std::string& screen) {
  std::vector<double> out;
  for (auto& line : lines(screen)) {
    auto w = words(line);
    char* end = nullptr;
    if (w.size() == 7 && w[1].rfind('/', 0) == 0) {
      auto x = std::strtod(w[6].c_str(), &end);
      if (*end == '\0')
        out.push_back(x);
    }
  }
  return out;
}

// Runs `argv` (argv[0] a path) and returns its exit code (-1 if it does not
// end within `timeout`: then it is killed) and its output. The output goes
// through a file: a tmux client that starts the server hands it what it
// inherited, and a pipe held by the server would never reach its end.
std::pair<int, std::string> run_program(std::vector<std::string> argv,
                                        std::chrono::milliseconds timeout) {
  char name[] = "/tmp/troupe-top-test-XXXXXX";
  auto out = ::mkostemp(name, O_CLOEXEC);
  if (out < 0)
    return {-1, "cannot create a temporary file"};
  ::unlink(name);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out, STDERR_FILENO);
  std::vector<char*> args;
  for (auto& x : argv)
    args.push_back(x.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  auto rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    ::close(out);
    return {-1, "cannot start " + argv[0] + ": " + std::strerror(rc)};
  }
  // Its end is the event: a pidfd becomes readable then.
  auto fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  pollfd pfd{fd, POLLIN, 0};
  if (fd < 0 || ::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0)
    ::kill(pid, SIGKILL);
  if (fd >= 0)
    ::close(fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::string text;
  char buf[4096];
  ::lseek(out, 0, SEEK_SET);
  for (ssize_t n; (n = ::read(out, buf, sizeof(buf))) > 0;)
    text.append(buf, static_cast<size_t>(n));
  ::close(out);
  auto code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return {code, text};
}

// A tmux server of its own (`tmux -L <socket>`, unique per test process, no
// config file), killed by the destructor.
class tmux_server {
public:
  explicit tmux_server(std::string tmux)
      : tmux_(std::move(tmux))
      , socket_("troupe-top-test-" + std::to_string(::getpid())) {}

  ~tmux_server() {
    run({"kill-server"}); // fails harmlessly once the last session ended
    // tmux leaves its socket behind: $TMUX_TMPDIR/tmux-<uid>/<name>.
    auto* dir = std::getenv("TMUX_TMPDIR");
    auto path = std::string{dir != nullptr && *dir != '\0' ? dir : "/tmp"} +
                "/tmux-" + std::to_string(::getuid()) + "/" + socket_;
    ::unlink(path.c_str());
  }

  tmux_server(const tmux_server&) = delete;
  tmux_server& operator=(const tmux_server&) = delete;

  // Runs `tmux -L <socket> args...`; returns its exit code and output.
  std::pair<int, std::string> run(std::vector<std::string> args) {
    args.insert(args.begin(), {tmux_, "-L", socket_, "-f", "/dev/null"});
    return run_program(std::move(args), 10s);
  }

  std::string capture(const std::string& session) {
    return run({"capture-pane", "-p", "-t", session}).second;
  }

  bool has_session(const std::string& session) {
    return run({"has-session", "-t", session}).first == 0;
  }

private:
  std::string tmux_;
  std::string socket_;
};

// Captures the screen until `done(screen)` holds, for at most `tries`
// captures `pause` apart; returns the last screen.
template <class Pred>
std::string poll_screen(tmux_server& tmux, const std::string& session,
                        Pred done, int tries = 100,
                        std::chrono::milliseconds pause = 100ms) {
  auto screen = tmux.capture(session);
  for (int i = 1; i < tries && !done(screen); ++i) {
    std::this_thread::sleep_for(pause);
    screen = tmux.capture(session);
  }
  return screen;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST(TopInTmux, ShowsLiveRatesSortsAndQuits) {
  auto tmux_bin = find_in_path("tmux");
  if (tmux_bin.empty())
    GTEST_SKIP() << "tmux not found in PATH: install it to drive `troupe top` "
                    "in a terminal (tools/dev installs it)";
  // One node runs the whole tree: the caller greets three greeters.
  child_process n1{{TROUPE_CLUSTER_BIN, "--name", "n1", "supervise", "1"}};
  auto ready = n1.wait_for_line("READY port=");
  ASSERT_TRUE(ready) << n1.output();
  auto port = ready->substr(ready->find("port=") + 5);
  port = port.substr(0, port.find(' '));
  ASSERT_TRUE(n1.wait_for_line("SUPERVISING")) << n1.output();
  tmux_server tmux{tmux_bin};
  const std::string session = "top";
  // `timeout` ends it if the test itself is killed (and with the last
  // session, the server); in the foreground, it keeps the terminal's keys.
  auto started =
      tmux.run({"new-session", "-d", "-s", session, "-x", "160", "-y", "40",
                "timeout --foreground 120 " + std::string{TROUPE_TOOL_BIN} +
                    " top 127.0.0.1:" + port});
  ASSERT_EQ(started.first, 0) << started.second;
  // The actors appear.
  auto screen = poll_screen(tmux, session, [](const std::string& s) {
    return contains(s, "/root/caller") && contains(s, "/root/greeter-1");
  });
  ASSERT_TRUE(contains(screen, "/root/caller")) << screen;
  ASSERT_TRUE(contains(screen, "/root/greeter-1")) << screen;
  EXPECT_TRUE(
      contains(header_of(screen), "cluster via n1: 1 node, 0 unreachable"))
      << screen;
  EXPECT_TRUE(contains(header_of(screen), "sort: mailbox")) << screen;
  // Refreshed every second, with rates between the node's snapshots: a
  // rate changes (the tries bound the wait, 1.2 s apart).
  auto first = screen;
  auto changed = [&](const std::string& s) {
    for (auto path : {"/root/caller", "/root/greeter-1", "/root/greeter-2",
                      "/root/greeter-3"}) {
      auto before = rate_of(first, path);
      auto now = rate_of(s, path);
      if (before && now && *before != *now)
        return true;
    }
    return false;
  };
  std::this_thread::sleep_for(1200ms);
  screen = poll_screen(tmux, session, changed, 10, 1200ms);
  EXPECT_TRUE(changed(screen)) << "before:\n" << first << "after:\n" << screen;
  // `r` sorts by rate: the header says so, the rates go down the screen.
  tmux.run({"send-keys", "-t", session, "r"});
  screen = poll_screen(tmux, session, [](const std::string& s) {
    return contains(header_of(s), "sort: rate");
  });
  ASSERT_TRUE(contains(header_of(screen), "sort: rate")) << screen;
  auto shown = rates(screen);
  EXPECT_GE(shown.size(), 4u) << screen;
  EXPECT_TRUE(std::is_sorted(shown.rbegin(), shown.rend())) << screen;
  // `m` sorts by mailbox again.
  tmux.run({"send-keys", "-t", session, "m"});
  screen = poll_screen(tmux, session, [](const std::string& s) {
    return contains(header_of(s), "sort: mailbox");
  });
  EXPECT_TRUE(contains(header_of(screen), "sort: mailbox")) << screen;
  // `q` ends the program, and with it the session.
  tmux.run({"send-keys", "-t", session, "q"});
  auto alive = true;
  for (int i = 0; i < 100 && alive; ++i) {
    alive = tmux.has_session(session);
    if (alive)
      std::this_thread::sleep_for(100ms);
  }
  EXPECT_FALSE(alive) << tmux.capture(session);
}
