// Remote ping-pong: a client process and a server process on 127.0.0.1
// exchange COUNT round trips (default 20,000) of a 64-byte payload; prints
// round trips per second and the RTT median and 99th percentile.
//
// troupe: two troupe nodes with default settings, `bench.Payload` Protobuf
// messages, the server's actor found with `node::lookup`. Raw CAF: actor
// systems with the same thread count (or the --set settings), a plain struct
// {string data; uint64 seq} announced to CAF, `publish`/`remote_actor`.
//
// This binary is the client; it starts itself as `bench_remote serve KIND`
// for each run, reads the line `PORT <n>` the server prints once it listens,
// and ends that child (and only it) with SIGTERM afterwards. The extra
// argument `caf-only` skips the troupe runs (for tools/bench/explore_sched.sh);
// `caf-defaults` runs raw CAF with CAF's defaults instead of the node's
// thread count.
#include <csignal>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <caf/io/middleman.hpp>
#include <caf/send.hpp>

#include "remote_actors.hpp"

extern char** environ;

namespace {

using namespace bench::remote;

// The server process this client started and has not ended yet, if any.
pid_t running_child = -1;

void fail(const std::string& what) {
  std::fprintf(stderr, "bench_remote: %s\n", what.c_str());
  if (running_child > 0) {
    kill(running_child, SIGTERM);
    waitpid(running_child, nullptr, 0);
  }
  std::exit(1);
}

void configure_caf(caf::actor_system_config& cfg, const bench::options& o) {
  bench::apply(cfg, o.settings);
  cfg.load<caf::io::middleman>();
  cfg.add_message_type<raw_payload>("bench.raw_payload");
}

troupe::node_config node_cfg() {
  troupe::node_config nc;
  nc.log = troupe::log_level::warn;
  return nc;
}

int serve(const std::string& kind, const bench::options& opts) {
  if (kind == "troupe") {
    troupe::node n{node_cfg()};
    n.add_message_type<bench::Payload>();
    if (auto err = n.start())
      fail(troupe::describe(err));
    if (auto err = n.register_name("pong", n.spawn(troupe_pong)))
      fail(troupe::describe(err));
    std::printf("PORT %u\n", static_cast<unsigned>(n.port()));
    std::fflush(stdout);
    return n.run();
  }
  // Raw CAF: every thread inherits the blocked signals; main waits for them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  caf::actor_system_config cfg;
  configure_caf(cfg, opts);
  caf::actor_system sys{cfg};
  auto pong = sys.spawn(caf_pong);
  auto port = sys.middleman().publish(pong, 0, "127.0.0.1", true);
  if (!port)
    fail(sys.render(port.error()));
  std::printf("PORT %u\n", static_cast<unsigned>(*port));
  std::fflush(stdout);
  int sig = 0;
  sigwait(&sigs, &sig);
  caf::anon_send_exit(pong, caf::exit_reason::user_shutdown);
  return 0;
}

struct server {
  pid_t pid = -1;
  uint16_t port = 0;
};

// Starts `self serve KIND [--set ...]` and waits for its PORT line.
server start_server(const char* kind, const bench::options& opts) {
  int fds[2];
  if (pipe(fds) != 0)
    fail("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  posix_spawn_file_actions_addclose(&fa, fds[1]);
  std::vector<std::string> args{"/proc/self/exe", "serve", kind};
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
  server s;
  if (posix_spawn(&s.pid, "/proc/self/exe", &fa, nullptr, argv.data(),
                  environ) != 0)
    fail("cannot start the server process");
  running_child = s.pid;
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  auto in = fdopen(fds[0], "r");
  char line[256];
  while (std::fgets(line, sizeof(line), in) != nullptr) {
    unsigned port = 0;
    if (std::sscanf(line, "PORT %u", &port) == 1) {
      s.port = static_cast<uint16_t>(port);
      break;
    }
  }
  std::fclose(in);
  if (s.port == 0)
    fail(std::string{"server '"} + kind + "' printed no port");
  return s;
}

void stop_server(const server& s) {
  kill(s.pid, SIGTERM);
  int status = 0;
  waitpid(s.pid, &status, 0);
  running_child = -1;
}

struct sample {
  double rate = 0, p50_us = 0, p99_us = 0;
};

// Warms the connection up, then times `n` round trips with a fresh ping.
template <class SpawnPing>
sample measure(uint64_t n, SpawnPing spawn_ping) {
  for (auto count : {std::min<uint64_t>(n, 1000), n}) {
    auto rd = std::make_shared<run_data>();
    rd->rtt_ns.reserve(count);
    auto finished = rd->done.get_future();
    auto ping = spawn_ping(count, rd);
    auto t0 = bench::clock::now();
    caf::anon_send(ping, start_atom::value);
    finished.wait();
    if (count != n)
      continue;
    sample s;
    s.rate = static_cast<double>(n) / bench::seconds_since(t0);
    auto& v = rd->rtt_ns;
    std::sort(v.begin(), v.end());
    s.p50_us = v[v.size() / 2] / 1e3;
    s.p99_us = v[std::min(v.size() - 1, v.size() * 99 / 100)] / 1e3;
    return s;
  }
  return {};
}

sample troupe_run(const bench::options& opts) {
  auto srv = start_server("troupe", opts);
  sample s;
  {
    troupe::node n{node_cfg()};
    n.add_message_type<bench::Payload>();
    if (auto err = n.start())
      fail(troupe::describe(err));
    auto pong = n.lookup("127.0.0.1", srv.port, "pong");
    if (!pong)
      fail(troupe::describe(pong.error()));
    s = measure(opts.count, [&](uint64_t k, std::shared_ptr<run_data> rd) {
      return n.spawn(troupe_ping, *pong, k, std::move(rd));
    });
  }
  stop_server(srv);
  return s;
}

sample caf_run(const bench::options& opts) {
  auto srv = start_server("caf", opts);
  sample s;
  {
    caf::actor_system_config cfg;
    configure_caf(cfg, opts);
    caf::actor_system sys{cfg};
    auto pong = sys.middleman().remote_actor("127.0.0.1", srv.port);
    if (!pong)
      fail(sys.render(pong.error()));
    s = measure(opts.count, [&](uint64_t k, std::shared_ptr<run_data> rd) {
      return sys.spawn(caf_ping, *pong, k, std::move(rd));
    });
  }
  stop_server(srv);
  return s;
}

} // namespace

int main(int argc, char** argv) {
  auto opts = bench::parse_options(argc, argv, 20'000);
  auto has = [&](const char* x) {
    return std::find(opts.args.begin(), opts.args.end(), x) != opts.args.end();
  };
  if (opts.settings.empty() && !has("caf-defaults"))
    opts.settings = {{"scheduler.max-threads",
                      std::to_string(bench::node_default_threads())}};
  if (opts.args.size() >= 2 && opts.args[0] == "serve")
    return serve(opts.args[1], opts);
  bool caf_only = has("caf-only");
  std::vector<sample> ts, cs;
  auto [rate_t, rate_c] = bench::median_pair(
    opts.reps,
    [&] {
      ts.push_back(caf_only ? sample{} : troupe_run(opts));
      return ts.back().rate;
    },
    [&] { cs.push_back(caf_run(opts)); return cs.back().rate; });
  auto med = [](std::vector<sample>& xs, double sample::*f) {
    std::vector<double> v;
    for (auto& x : xs)
      v.push_back(x.*f);
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  auto label = "remote ping-pong 64 B, loopback, node defaults vs CAF ("
               + bench::describe(opts.settings) + ")";
  bench::row(label + " [round trips/s]", rate_t, rate_c);
  bench::row(label + " [RTT p50 us, lower is better]",
             med(ts, &sample::p50_us), med(cs, &sample::p50_us), "%.1f");
  bench::row(label + " [RTT p99 us, lower is better]",
             med(ts, &sample::p99_us), med(cs, &sample::p99_us), "%.1f");
  return 0;
}
