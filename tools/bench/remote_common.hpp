// SPDX-License-Identifier: Apache-2.0
// Shared by the remote benchmarks (bench_remote.cpp, bench_remote_oneway.cpp):
// the processes on either side of the loopback connection, the CAF and troupe
// configuration of both ends, peak RSS and RTT summaries.
//
// A benchmark binary is the client and starts itself again, with other
// arguments, for each process it needs: `/proc/self/exe serve KIND ...`.
// A server prints `PORT <n>` once it listens; the client reads the child's
// stdout through a pipe and waits for that line (and any later one) with a
// deadline, never with a sleep. The client ends only the processes it
// started, by PID, and kills them when it fails.
#pragma once

#include <cerrno>
#include <climits>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <optional>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

#include "remote_actors.hpp"

extern char** environ;

namespace bench::remote {

/// Processes this one started and has not waited for yet.
inline std::vector<pid_t> running_children;

/// Prints `what`, kills the processes this one started and exits.
[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", program_invocation_short_name,
               what.c_str());
  for (auto pid : running_children) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  std::exit(1);
}

/// A process this benchmark started, with the read end of its stdout.
struct child {
  pid_t pid = -1;
  int out = -1;
  std::string pending; // read, but past the last line returned
  uint16_t port = 0;   // from the PORT line of a server
};

/// Starts this binary again as `ARGS...` plus the CAF settings of `opts`
/// (`--set KEY=VALUE` each, or `caf-defaults` when there are none).
inline child start_child(std::vector<std::string> args,
                         const bench::options& opts) {
  // Close-on-exec, so that a later child does not inherit this pipe: dup2
  // clears the flag on the child's own stdout.
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    fail("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  args.insert(args.begin(), program_invocation_name);
  if (opts.settings.empty())
    args.emplace_back("caf-defaults");
  for (auto& [key, value] : opts.settings) {
    args.emplace_back("--set");
    args.emplace_back(key + "=" + value);
  }
  std::vector<char*> argv;
  for (auto& x : args)
    argv.push_back(x.data());
  argv.push_back(nullptr);
  child c;
  auto rc = posix_spawn(&c.pid, "/proc/self/exe", &fa, nullptr, argv.data(),
                        environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    fail("cannot start '" + args[1] + "' process");
  }
  running_children.push_back(c.pid);
  c.out = fds[0];
  return c;
}

/// The next line `c` prints (without its newline), waiting until `deadline`;
/// nothing once the child closed its stdout (it ended) or past the deadline.
inline std::optional<std::string> next_line(child& c,
                                            bench::clock::time_point deadline) {
  for (;;) {
    if (auto nl = c.pending.find('\n'); nl != std::string::npos) {
      auto line = c.pending.substr(0, nl);
      c.pending.erase(0, nl + 1);
      return line;
    }
    if (c.out < 0) {
      if (c.pending.empty())
        return std::nullopt;
      return std::exchange(c.pending, {}); // a last line without newline
    }
    using std::chrono::milliseconds;
    auto left = std::chrono::duration_cast<milliseconds>(
                  deadline - bench::clock::now())
                  .count();
    if (left <= 0)
      return std::nullopt;
    pollfd p{c.out, POLLIN, 0};
    auto ready = poll(&p, 1, static_cast<int>(std::min<int64_t>(left, INT_MAX)));
    if (ready < 0 && errno != EINTR)
      fail("poll failed");
    if (ready <= 0)
      continue;
    char buf[512];
    auto n = read(c.out, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      close(c.out);
      c.out = -1;
      continue;
    }
    c.pending.append(buf, static_cast<size_t>(n));
  }
}

/// Reads lines of `c` until one starts with `prefix` and returns it; fails
/// when the child ends or `within` passes first.
inline std::string expect_line(child& c, const std::string& prefix,
                               std::chrono::seconds within) {
  auto deadline = bench::clock::now() + within;
  while (auto line = next_line(c, deadline))
    if (line->rfind(prefix, 0) == 0)
      return *line;
  fail("child " + std::to_string(c.pid) + " printed no '" + prefix
       + "' line within " + std::to_string(within.count()) + " s");
}

/// Starts a server (see `start_child`) and waits for its `PORT <n>` line.
inline child start_server(std::vector<std::string> args,
                          const bench::options& opts) {
  auto c = start_child(std::move(args), opts);
  auto line = expect_line(c, "PORT ", std::chrono::seconds{30});
  c.port = static_cast<uint16_t>(std::stoul(line.substr(5)));
  return c;
}

/// Ends `c` and returns the lines it printed until then. Sends it SIGTERM
/// first when `terminate` (a server); otherwise the child is expected to exit
/// on its own. Past `within` it is killed (SIGKILL) rather than waited for.
inline std::vector<std::string>
finish(child& c, bool terminate,
       std::chrono::seconds within = std::chrono::seconds{30}) {
  if (terminate)
    kill(c.pid, SIGTERM);
  std::vector<std::string> lines;
  auto deadline = bench::clock::now() + within;
  while (auto line = next_line(c, deadline))
    lines.push_back(std::move(*line));
  if (c.out >= 0) {
    std::fprintf(stderr, "%s: child %d did not end within %lld s, killing it\n",
                 program_invocation_short_name, static_cast<int>(c.pid),
                 static_cast<long long>(within.count()));
    kill(c.pid, SIGKILL);
    close(c.out);
    c.out = -1;
  }
  waitpid(c.pid, nullptr, 0);
  running_children.erase(std::remove(running_children.begin(),
                                     running_children.end(), c.pid),
                         running_children.end());
  return lines;
}

/// The first of `lines` that starts with `prefix`, or an empty string.
inline std::string find_line(const std::vector<std::string>& lines,
                             const std::string& prefix) {
  for (auto& line : lines)
    if (line.rfind(prefix, 0) == 0)
      return line;
  return {};
}

/// Blocks SIGTERM and SIGINT in the calling thread and so in every thread it
/// starts afterwards (a CAF system's), for `await_stop_signal`. Call it
/// before creating the actor system.
inline sigset_t block_stop_signals() {
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  return sigs;
}

/// Waits for one of the signals that `block_stop_signals` blocked.
inline void await_stop_signal(const sigset_t& sigs) {
  int sig = 0;
  sigwait(&sigs, &sig);
}

/// The value of the benchmark's own flag `--NAME VALUE` (see
/// `bench::parse_options`), or `fallback`.
inline uint64_t flag(const bench::options& opts, const std::string& name,
                     uint64_t fallback) {
  for (size_t i = 0; i + 1 < opts.args.size(); ++i)
    if (opts.args[i] == name)
      return std::stoull(opts.args[i + 1]);
  return fallback;
}

/// The peak resident set size of this process so far (VmHWM), in KiB.
inline int64_t peak_rss_kb() {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0)
      return std::stoll(line.substr(6));
  return 0;
}

/// TROUPE_BENCH_TLS=DIR in the environment: both runtimes talk TLS with
/// mutual authentication, with DIR's files from `tools/tls/make-dev-ca DIR
/// bench` (both processes show the same certificate). Null: plaintext.
inline const char* tls_dir() {
  return std::getenv("TROUPE_BENCH_TLS");
}

/// Raw CAF side: the --set settings, the middleman and `raw_payload`; under
/// TLS (`tls_dir`) CAF's openssl module, used with `caf::openssl::publish`
/// and `caf::openssl::remote_actor`.
inline void configure_caf(caf::actor_system_config& cfg,
                          const bench::options& o) {
  bench::apply(cfg, o.settings);
  cfg.load<caf::io::middleman>();
  if (auto dir = tls_dir()) {
    cfg.openssl_cafile = std::string{dir} + "/ca.pem";
    cfg.openssl_certificate = std::string{dir} + "/bench.pem";
    cfg.openssl_key = std::string{dir} + "/bench.key";
    cfg.load<caf::openssl::manager>();
  }
  cfg.add_message_type<raw_payload>("bench.raw_payload");
}

/// troupe side: a node with default settings and a quieter log.
/// Node defaults, except that TROUPE_LINK_SPIN_US and TROUPE_DIRECT_LINKS
/// (0/1) in the environment override the direct links' settings, for
/// exploring them (both sides of a run inherit the environment).
inline troupe::node_config node_cfg() {
  troupe::node_config nc;
  nc.log = troupe::log_level::warn;
  if (auto x = std::getenv("TROUPE_LINK_SPIN_US"))
    nc.link_spin = std::chrono::microseconds{std::atoll(x)};
  if (auto x = std::getenv("TROUPE_DIRECT_LINKS"))
    nc.direct_links = std::string{x} != "0";
  if (auto dir = tls_dir()) {
    nc.tls_ca = std::string{dir} + "/ca.pem";
    nc.tls_cert = std::string{dir} + "/bench.pem";
    nc.tls_key = std::string{dir} + "/bench.key";
  }
  return nc;
}

/// Figures of one ping-pong run.
struct sample {
  double rate = 0, p50_us = 0, p99_us = 0;
};

/// Round trips per second over `seconds`, and the RTT median and 99th
/// percentile of `rtt_ns` (sorted in place).
inline sample summarize(std::vector<int64_t>& rtt_ns, double seconds) {
  sample s;
  if (rtt_ns.empty())
    return s;
  std::sort(rtt_ns.begin(), rtt_ns.end());
  auto n = rtt_ns.size();
  s.rate = static_cast<double>(n) / seconds;
  s.p50_us = static_cast<double>(rtt_ns[n / 2]) / 1e3;
  s.p99_us = static_cast<double>(rtt_ns[std::min(n - 1, n * 99 / 100)]) / 1e3;
  return s;
}

} // namespace bench::remote
