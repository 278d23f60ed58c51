// SPDX-License-Identifier: Apache-2.0
// Remote one-way throughput: a sender process sends COUNT (default
// 1,000,000, at most 20,000,000) one-way 64-byte messages to an actor in a
// receiver process on 127.0.0.1 as fast as it can; the receiver counts them
// and answers once it has all. Prints messages per second (first send to
// the answer, so only delivered messages count) and how much the peak RSS
// (VmHWM) of the sender and of the receiver grew during the run: a runtime
// without backpressure buffers what the network cannot take yet. Growth is
// VmHWM at the end minus VmHWM once the connection is up (sender: after the
// lookup; receiver: before its PORT line).
//
// troupe: two troupe nodes with default settings, the sender a member of
// the receiver's cluster, `bench.Payload` Protobuf messages, the receiver's
// actor found with `node::lookup` and sent to through a troupe handle
// (`node::ref`, flow-controlled). Raw CAF: actor
// systems with the node's thread count (or the --set settings), the plain
// struct `bench.raw_payload`, `publish`/`remote_actor`. Repetitions
// alternate which goes first; the medians are reported.
//
// This binary is the client. For each run it starts itself twice (see
// remote_common.hpp), so that each side's peak RSS is its own and not that
// of an earlier run:
//   bench_remote_oneway serve KIND COUNT
//       the receiver: prints `PORT <n>`, and on SIGTERM
//       `RECEIVED <count> RSS <growth KiB>`;
//   bench_remote_oneway send KIND COUNT --port N --timeout S
//       the sender: prints `SENT <s> <answered 0|1> <send loop s>
//       <RSS growth KiB>` and exits.
// --timeout S (default 60, at most 600) bounds the wait for the answer; a
// run that times out reports the messages that arrived by then (an extra
// row) and the rate over S seconds. TROUPE_BENCH_VERBOSE=1 shows each run,
// including how long the send loop took.
#include <caf/send.hpp>

#include "remote_common.hpp"

namespace {

using namespace bench::remote;

constexpr uint64_t max_count = 20'000'000;
constexpr uint64_t max_timeout_s = 600;

int serve(const std::string& kind, const bench::options& opts) {
  auto count = std::make_shared<std::atomic<uint64_t>>(0);
  int64_t rss_before = 0;
  auto report = [&] {
    std::printf("RECEIVED %llu RSS %lld\n",
                static_cast<unsigned long long>(count->load()),
                static_cast<long long>(peak_rss_kb() - rss_before));
    std::fflush(stdout);
  };
  if (kind == "troupe") {
    troupe::node n{node_cfg()};
    n.add_message_type<bench::Payload>();
    if (auto err = n.start())
      fail(troupe::describe(err));
    if (auto err = n.register_name("sink",
                                   n.spawn(troupe_sink, opts.count, count)))
      fail(troupe::describe(err));
    rss_before = peak_rss_kb();
    std::printf("PORT %u\n", static_cast<unsigned>(n.port()));
    std::fflush(stdout);
    auto rc = n.run();
    report();
    return rc;
  }
  // Raw CAF: every thread inherits the blocked signals; main waits for them.
  auto sigs = block_stop_signals();
  caf::actor_system_config cfg;
  configure_caf(cfg, opts);
  caf::actor_system sys{cfg};
  auto sink = sys.spawn(caf_sink, opts.count, count);
  auto port = sys.middleman().publish(sink, 0, "127.0.0.1", true);
  if (!port)
    fail(sys.render(port.error()));
  rss_before = peak_rss_kb();
  std::printf("PORT %u\n", static_cast<unsigned>(*port));
  std::fflush(stdout);
  await_stop_signal(sigs);
  report();
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
  return 0;
}

// Starts the blast and waits at most `timeout` for the sink's answer, then
// prints the SENT line. Does not return when the answer did not come.
void blast(const caf::actor& blaster, std::shared_ptr<blast_data> bd,
           std::chrono::seconds timeout, int64_t rss_before) {
  auto answered = bd->done.get_future();
  caf::anon_send(blaster, start_atom::value);
  bool ok = answered.wait_for(timeout) == std::future_status::ready;
  auto seconds = ok ? bd->seconds : static_cast<double>(timeout.count());
  std::printf("SENT %.6f %d %.6f %lld\n", seconds, ok ? 1 : 0,
              bd->send_seconds.load(),
              static_cast<long long>(peak_rss_kb() - rss_before));
  std::fflush(stdout);
  if (!ok) {
    // The blaster still waits for its answer, and CAF 0.17's actor_system
    // destructor would wait for it: the figures are out, so leave now,
    // with the undelivered messages, before any destructor runs.
    std::_Exit(0);
  }
}

int send(const std::string& kind, const bench::options& opts) {
  auto port = static_cast<uint16_t>(flag(opts, "--port", 0));
  std::chrono::seconds timeout{flag(opts, "--timeout", 60)};
  auto bd = std::make_shared<blast_data>();
  if (kind == "troupe") {
    // The sender joins the receiver's cluster and sends through a troupe
    // handle, so the flow window (node default) applies.
    auto cfg = node_cfg();
    cfg.seeds = {"127.0.0.1:" + std::to_string(port)};
    troupe::node n{cfg};
    n.add_message_type<bench::Payload>();
    if (auto err = n.start())
      fail(troupe::describe(err));
    auto sink = n.lookup("127.0.0.1", port, "sink");
    if (!sink)
      fail(troupe::describe(sink.error()));
    auto rss_before = peak_rss_kb();
    blast(n.spawn(troupe_blaster, n.ref(*sink), opts.count, bd), bd, timeout,
          rss_before);
  } else {
    caf::actor_system_config cfg;
    configure_caf(cfg, opts);
    caf::actor_system sys{cfg};
    auto sink = sys.middleman().remote_actor("127.0.0.1", port);
    if (!sink)
      fail(sys.render(sink.error()));
    auto rss_before = peak_rss_kb();
    blast(sys.spawn(caf_blaster, *sink, opts.count, bd), bd, timeout,
          rss_before);
  }
  return 0;
}

struct oneway_sample {
  double rate = 0;
  double sender_mb = 0, receiver_mb = 0;
  uint64_t received = 0;
  bool answered = false;
};

// One run of KIND: receiver, then sender, then the receiver's figures.
oneway_sample run(const char* kind, const bench::options& opts,
                  uint64_t timeout_s) {
  auto n = std::to_string(opts.count);
  auto receiver = start_server({"serve", kind, n}, opts);
  auto sender = start_child({"send", kind, n, "--port",
                             std::to_string(receiver.port), "--timeout",
                             std::to_string(timeout_s)},
                            opts);
  // The sender's own deadline plus time to set up its node or system.
  auto sent = expect_line(sender, "SENT ",
                          std::chrono::seconds{timeout_s + 30});
  finish(sender, false);
  auto received = find_line(finish(receiver, true), "RECEIVED ");
  oneway_sample s;
  double seconds = 0, send_seconds = 0;
  int answered = 0;
  long long sender_kb = 0, receiver_kb = 0;
  unsigned long long count = 0;
  if (std::sscanf(sent.c_str(), "SENT %lf %d %lf %lld", &seconds, &answered,
                  &send_seconds, &sender_kb) != 4
      || std::sscanf(received.c_str(), "RECEIVED %llu RSS %lld", &count,
                     &receiver_kb) != 2)
    fail(std::string{"bad figures from the "} + kind + " run: '" + sent
         + "', '" + received + "'");
  s.answered = answered != 0;
  s.received = s.answered ? opts.count : count;
  s.rate = static_cast<double>(s.received) / seconds;
  s.sender_mb = static_cast<double>(sender_kb) / 1024;
  s.receiver_mb = static_cast<double>(receiver_kb) / 1024;
  static const bool verbose = std::getenv("TROUPE_BENCH_VERBOSE") != nullptr;
  if (verbose)
    std::fprintf(stderr,
                 "  %s: %llu of %llu in %.2f s (send loop %.2f s), "
                 "RSS growth sender %.1f MB, receiver %.1f MB\n",
                 kind, static_cast<unsigned long long>(s.received),
                 static_cast<unsigned long long>(opts.count), seconds,
                 send_seconds, s.sender_mb, s.receiver_mb);
  if (!s.answered)
    std::fprintf(stderr, "%s: %s run timed out after %llu s with %llu of %llu "
                 "messages delivered\n", program_invocation_short_name, kind,
                 static_cast<unsigned long long>(timeout_s),
                 static_cast<unsigned long long>(s.received),
                 static_cast<unsigned long long>(opts.count));
  return s;
}

// Median of one figure over the runs of a variant.
template <class T>
double med(const std::vector<oneway_sample>& xs, T oneway_sample::*f) {
  std::vector<double> v;
  for (auto& x : xs)
    v.push_back(static_cast<double>(x.*f));
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
  auto opts = bench::parse_options(argc, argv, 1'000'000);
  auto has = [&](const char* x) {
    return std::find(opts.args.begin(), opts.args.end(), x) != opts.args.end();
  };
  if (opts.count > max_count) {
    std::fprintf(stderr, "%s: COUNT capped at %llu\n",
                 program_invocation_short_name,
                 static_cast<unsigned long long>(max_count));
    opts.count = max_count;
  }
  if (opts.settings.empty() && !has("caf-defaults"))
    opts.settings = {{"scheduler.max-threads",
                      std::to_string(bench::node_default_threads())}};
  if (opts.args.size() >= 2 && opts.args[0] == "serve")
    return serve(opts.args[1], opts);
  if (opts.args.size() >= 2 && opts.args[0] == "send")
    return send(opts.args[1], opts);
  auto timeout_s = std::clamp<uint64_t>(flag(opts, "--timeout", 60), 1,
                                        max_timeout_s);
  std::vector<oneway_sample> ts, cs;
  bench::median_pair(
    opts.reps,
    [&] {
      ts.push_back(run("troupe", opts, timeout_s));
      return ts.back().rate;
    },
    [&] {
      cs.push_back(run("caf", opts, timeout_s));
      return cs.back().rate;
    });
  char what[160];
  std::snprintf(what, sizeof(what),
                "remote one-way 64 B x %llu, loopback, node defaults vs CAF "
                "(%s)",
                static_cast<unsigned long long>(opts.count),
                bench::describe(opts.settings).c_str());
  std::string label = what;
  bench::row(label + " [msgs/s]", med(ts, &oneway_sample::rate),
             med(cs, &oneway_sample::rate));
  bench::row(label + " [sender peak RSS growth MB, lower is better]",
             med(ts, &oneway_sample::sender_mb),
             med(cs, &oneway_sample::sender_mb), "%.1f");
  bench::row(label + " [receiver peak RSS growth MB, lower is better]",
             med(ts, &oneway_sample::receiver_mb),
             med(cs, &oneway_sample::receiver_mb), "%.1f");
  auto all = [](const std::vector<oneway_sample>& xs) {
    return std::all_of(xs.begin(), xs.end(),
                       [](auto& x) { return x.answered; });
  };
  if (!all(ts) || !all(cs))
    bench::row(label + " [messages delivered within "
                 + std::to_string(timeout_s) + " s]",
               med(ts, &oneway_sample::received),
               med(cs, &oneway_sample::received));
  return 0;
}
