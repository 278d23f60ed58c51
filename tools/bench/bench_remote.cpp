// SPDX-License-Identifier: Apache-2.0
// Remote ping-pong: a client process and a server process on 127.0.0.1
// exchange COUNT round trips (default 20,000) of a 64-byte payload; prints
// round trips per second and the RTT median and 99th percentile.
//
// troupe: two troupe nodes with default settings, the client a member of
// the server's cluster, `bench.Payload` Protobuf messages, the server's
// actor found with `node::lookup` and talked to through a troupe handle
// (`node::ref`), so over the direct link (TROUPE_DIRECT_LINKS=0 in the
// environment: over BASP; TROUPE_LINK_SPIN_US sets the readers' polling). Raw CAF: actor
// systems with the same thread count (or the --set settings), a plain struct
// {string data; uint64 seq} announced to CAF, `publish`/`remote_actor`.
// Plain TCP (plain_tcp.hpp): blocking sockets with TCP_NODELAY, 64-byte
// frames echoed by the server; the floor for both runtimes. Its figures are
// printed as BASE rows, with troupe and raw CAF as ratios to them. On a VM
// that floor depends on where the scheduler puts the two processes: on one
// CPU each hop is a direct switch, on two each hop wakes an idle vCPU (on
// the 2-vCPU development VM, p50 6.5 us vs 55-60 us; the placement tends to
// hold for a whole invocation). `taskset -c 0` gives the one-CPU figure.
//
// This binary is the client; it starts itself as `bench_remote serve KIND`
// (KIND: troupe, caf, tcp) for each run, reads the line `PORT <n>` the
// server prints once it listens, and ends that child (and only it) with
// SIGTERM afterwards (see remote_common.hpp). TROUPE_BENCH_TLS=DIR runs
// troupe and raw CAF over TLS (certificates from `tools/tls/make-dev-ca DIR
// bench`); the plain TCP floor stays plaintext. Each repetition runs every
// variant once, in an order that rotates. The extra argument `caf-only`
// skips the troupe and plain TCP runs (for tools/bench/explore_sched.sh);
// `caf-defaults` runs raw CAF with CAF's defaults instead of the node's
// thread count.
#include <functional>

#include <caf/openssl/publish.hpp>
#include <caf/openssl/remote_actor.hpp>
#include <caf/send.hpp>

#include "plain_tcp.hpp"

namespace {

using namespace bench::remote;

int serve(const std::string& kind, const bench::options& opts) {
  if (kind == "tcp")
    return tcp::serve();
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
  auto sigs = block_stop_signals();
  caf::actor_system_config cfg;
  configure_caf(cfg, opts);
  caf::actor_system sys{cfg};
  auto pong = sys.spawn(caf_pong);
  auto port = tls_dir() != nullptr
                ? caf::openssl::publish(pong, 0, "127.0.0.1", true)
                : sys.middleman().publish(pong, 0, "127.0.0.1", true);
  if (!port)
    fail(sys.render(port.error()));
  std::printf("PORT %u\n", static_cast<unsigned>(*port));
  std::fflush(stdout);
  await_stop_signal(sigs);
  caf::anon_send_exit(pong, caf::exit_reason::user_shutdown);
  return 0;
}

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
    if (count == n)
      return summarize(rd->rtt_ns, bench::seconds_since(t0));
  }
  return {};
}

sample troupe_run(const bench::options& opts) {
  auto srv = start_server({"serve", "troupe"}, opts);
  sample s;
  {
    // The client joins the server's cluster and talks through a troupe
    // handle (`node::ref`), as troupe code does: over the direct link.
    auto cfg = node_cfg();
    cfg.seeds = {"127.0.0.1:" + std::to_string(srv.port)};
    troupe::node n{cfg};
    n.add_message_type<bench::Payload>();
    if (auto err = n.start())
      fail(troupe::describe(err));
    auto pong = n.lookup("127.0.0.1", srv.port, "pong");
    if (!pong)
      fail(troupe::describe(pong.error()));
    auto hdl = n.ref(*pong);
    s = measure(opts.count, [&](uint64_t k, std::shared_ptr<run_data> rd) {
      return n.spawn(troupe_ping, hdl, k, std::move(rd));
    });
  }
  finish(srv, true);
  return s;
}

sample caf_run(const bench::options& opts) {
  auto srv = start_server({"serve", "caf"}, opts);
  sample s;
  {
    caf::actor_system_config cfg;
    configure_caf(cfg, opts);
    caf::actor_system sys{cfg};
    auto pong = tls_dir() != nullptr
                  ? caf::openssl::remote_actor(sys, "127.0.0.1", srv.port)
                  : sys.middleman().remote_actor("127.0.0.1", srv.port);
    if (!pong)
      fail(sys.render(pong.error()));
    s = measure(opts.count, [&](uint64_t k, std::shared_ptr<run_data> rd) {
      return sys.spawn(caf_ping, *pong, k, std::move(rd));
    });
  }
  finish(srv, true);
  return s;
}

sample tcp_run(const bench::options& opts) {
  auto srv = start_server({"serve", "tcp"}, opts);
  auto s = tcp::ping_pong(srv.port, opts.count);
  finish(srv, true); // it also ends by itself once the client hung up
  return s;
}

// Median of one figure over the runs of a variant.
double med(const std::vector<sample>& xs, double sample::*f) {
  std::vector<double> v;
  for (auto& x : xs)
    v.push_back(x.*f);
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
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
  // Each repetition runs every variant once, starting with a different one,
  // so that drift in the machine's load hits all of them alike.
  std::vector<sample> ts, cs, ps;
  std::vector<std::pair<const char*, std::function<void()>>> variants{
    {"caf", [&] { cs.push_back(caf_run(opts)); }}};
  if (!caf_only) {
    variants.emplace_back("troupe", [&] { ts.push_back(troupe_run(opts)); });
    variants.emplace_back("tcp", [&] { ps.push_back(tcp_run(opts)); });
  }
  static const bool verbose = std::getenv("TROUPE_BENCH_VERBOSE") != nullptr;
  for (int i = 0; i < opts.reps; ++i) {
    for (size_t j = 0; j < variants.size(); ++j)
      variants[(static_cast<size_t>(i) + j) % variants.size()].second();
    if (verbose) {
      auto last = [](const std::vector<sample>& xs) {
        return xs.empty() ? sample{} : xs.back();
      };
      auto t = last(ts), c = last(cs), p = last(ps);
      std::fprintf(stderr, "  rep %d: round trips/s (RTT p50 us) troupe %.0f "
                   "(%.1f), caf %.0f (%.1f), tcp %.0f (%.1f)\n", i, t.rate,
                   t.p50_us, c.rate, c.p50_us, p.rate, p.p50_us);
    }
  }
  auto label = std::string{"remote ping-pong 64 B, loopback"}
               + (tls_dir() != nullptr ? ", TLS" : "")
               + ", node defaults vs CAF (" + bench::describe(opts.settings)
               + ")";
  bench::row(label + " [round trips/s]", med(ts, &sample::rate),
             med(cs, &sample::rate));
  bench::row(label + " [RTT p50 us, lower is better]",
             med(ts, &sample::p50_us), med(cs, &sample::p50_us), "%.1f");
  bench::row(label + " [RTT p99 us, lower is better]",
             med(ts, &sample::p99_us), med(cs, &sample::p99_us), "%.1f");
  if (caf_only)
    return 0;
  auto base = std::string{"remote ping-pong 64 B, loopback, vs plain TCP"};
  bench::baseline_row(base + " [round trips/s]", med(ps, &sample::rate),
                      med(ts, &sample::rate), med(cs, &sample::rate));
  bench::baseline_row(base + " [RTT p50 us, lower is better]",
                      med(ps, &sample::p50_us), med(ts, &sample::p50_us),
                      med(cs, &sample::p50_us), "%.1f");
  bench::baseline_row(base + " [RTT p99 us, lower is better]",
                      med(ps, &sample::p99_us), med(ts, &sample::p99_us),
                      med(cs, &sample::p99_us), "%.1f");
  return 0;
}
