// SPDX-License-Identifier: Apache-2.0
#include "troupe/node/node_config.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <memory>
#include <string_view>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "troupe/error.hpp"

namespace troupe {

namespace {

// CLI11's INI reader, with sections flattened into dotted keys: `[cluster]`
// then `membership = etcd` is the option `--cluster.membership` (CLI11 would
// look for a subcommand `cluster`, which would also swallow a positional
// argument of that name).
class sectioned_ini : public CLI::ConfigINI {
public:
  std::vector<CLI::ConfigItem> from_config(std::istream& in) const override {
    std::vector<CLI::ConfigItem> out;
    for (auto& item : CLI::ConfigINI::from_config(in)) {
      if (item.name == "++" || item.name == "--")
        continue; // CLI11's markers of a section's start and end
      if (!item.parents.empty()
          && !(item.parents.size() == 1 && item.parents[0] == "default")) {
        std::string prefix;
        for (auto& parent : item.parents)
          prefix += parent + '.';
        item.name = prefix + item.name;
      }
      item.parents.clear();
      out.push_back(std::move(item));
    }
    return out;
  }
};

// Parses a lease TTL: `3s`, `3000ms` or `3` (seconds), whole seconds only.
caf::expected<std::chrono::milliseconds> parse_lease_ttl(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return make_error(errc::bad_config,
                      fmt::format("bad etcd lease TTL '{}': {}", text, why));
  };
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
    ++digits;
  if (digits == 0 || digits > 9)
    return bad("expected a number of seconds such as 3s or 3000ms");
  int64_t value = std::stoll(std::string{text.substr(0, digits)});
  auto unit = text.substr(digits);
  int64_t ms = 0;
  if (unit.empty() || unit == "s")
    ms = value * 1000;
  else if (unit == "ms")
    ms = value;
  else
    return bad("the unit must be s or ms");
  if (ms % 1000 != 0)
    return bad("etcd counts leases in whole seconds");
  if (ms < 1000 || ms > 3600 * 1000)
    return bad("must be between 1s and 3600s");
  return std::chrono::milliseconds{ms};
}

} // namespace

caf::expected<parsed_config> parse_node_config(int argc,
                                               const char* const* argv,
                                               bool allow_positional) {
  parsed_config out;
  auto& cfg = out.config;
  CLI::App app{"troupe node", argc > 0 ? argv[0] : "troupe-node"};
  app.option_defaults()->always_capture_default();
  app.config_formatter(std::make_shared<sectioned_ini>());
  std::string config_file;
  app.set_config("--config", "", "INI file with node settings")
    ->envname("TROUPE_CONFIG");
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.add_option("--name", cfg.name, "node name (default: node-<pid>)");
  app.add_option("--host", cfg.host, "address to listen on");
  app.add_option("--port", cfg.port, "port to listen on (0: OS-chosen)");
  // One list per occurrence ("a:1,b:2"): the words after it are the
  // program's positional arguments, not more seeds.
  app.add_option("--seeds", cfg.seeds,
                 "nodes to connect to (host:port, comma-separated)")
    ->delimiter(',')
    ->allow_extra_args(false);
  app.add_option("--threads", cfg.threads, "worker threads (0: one per core)")
    ->check(CLI::Range(0, 1024));
  std::string scheduler = cfg.troupe_scheduler ? "troupe" : "caf";
  app.add_option("--scheduler", scheduler,
                 "actor scheduler: troupe (the default: idle workers "
                 "sleep until work comes) or caf (CAF's work stealing)")
    ->check(CLI::IsMember({"troupe", "caf"}));
  app.add_option("--max-message-size", cfg.max_message_size,
                 "largest Protobuf message in bytes")
    // Protobuf parses at most INT_MAX bytes at once.
    ->check(CLI::Range(size_t{1},
                       static_cast<size_t>(std::numeric_limits<int>::max())));
  int64_t shutdown_ms = cfg.shutdown_timeout.count();
  app.add_option("--shutdown-timeout-ms", shutdown_ms,
                 "bound on each shutdown phase")
    ->check(CLI::Range(int64_t{1}, int64_t{3600000}));
  int64_t heartbeat_ms = cfg.failure_detector.heartbeat_interval.count();
  app.add_option("--heartbeat-ms", heartbeat_ms,
                 "heartbeat interval on every cluster link")
    ->check(CLI::Range(int64_t{10}, int64_t{60000}));
  int64_t failure_ms = cfg.failure_detector.failure_timeout.count();
  app.add_option("--failure-timeout-ms", failure_ms,
                 "silence after which a node is marked down")
    ->check(CLI::Range(int64_t{50}, int64_t{600000}));
  std::string detection = cfg.failure_detector.gossip ? "gossip" : "mesh";
  app.add_option("--detection", detection,
                 "failure detection: mesh (every node heartbeats every "
                 "other) or gossip (a few monitors each, gossiped verdicts)")
    ->check(CLI::IsMember({"mesh", "gossip"}));
  app.add_option("--monitors", cfg.failure_detector.monitors,
                 "gossip detection: monitors per member")
    ->check(CLI::Range(size_t{1}, size_t{64}));
  app.add_option("--secret", cfg.secret,
                 "cluster secret: peers must prove they know it (no TLS)");
  app.add_option("--tls-ca", cfg.tls_ca, "TLS: PEM file of the cluster's CA");
  app.add_option("--tls-cert", cfg.tls_cert,
                 "TLS: PEM certificate of this node (signed by the CA)");
  app.add_option("--tls-key", cfg.tls_key, "TLS: PEM private key of this node");
  app.add_option("--max-connections", cfg.max_connections,
                 "connections from other nodes alive at once")
    ->check(CLI::Range(size_t{1}, size_t{1} << 20));
  app.add_option("--max-handshaking", cfg.max_handshaking,
                 "of those, connections still in their handshake; a new one "
                 "beyond it closes the oldest")
    ->check(CLI::Range(size_t{1}, size_t{1} << 20));
  int64_t handshake_ms = cfg.handshake_timeout.count();
  app.add_option("--handshake-timeout-ms", handshake_ms,
                 "time a new connection has to complete its handshake")
    ->check(CLI::Range(int64_t{50}, int64_t{600000}));
  app.add_option("--metrics-port", cfg.metrics_port,
                 "Prometheus endpoint port (-1: off, 0: OS-chosen)")
    ->check(CLI::Range(-1, 65535));
  app.add_option("--http-port", cfg.http_port,
                 "web dashboard port (-1: off, 0: OS-chosen)")
    ->check(CLI::Range(-1, 65535));
  app.add_option("--http-token", cfg.http_token,
                 "bearer token for the dashboard's actions (none: read-only)");
  app.add_option("--flow-window", cfg.flow_window,
                 "messages in flight to one other node before senders wait")
    ->check(CLI::Range(size_t{16}, size_t{1} << 24));
  app.add_option("--direct-links", cfg.direct_links,
                 "messages to other nodes over troupe's direct links "
                 "(false: CAF's BASP only)");
  int64_t spin_us = cfg.link_spin.count();
  app.add_option("--link-spin-us", spin_us,
                 "microseconds a link reader polls before it sleeps (0: off)")
    ->check(CLI::Range(int64_t{0}, int64_t{100000}));
  int64_t request_spin_us = cfg.request_spin.count();
  app.add_option("--request-spin-us", request_spin_us,
                 "microseconds a requesting thread polls for its answer "
                 "before it sleeps (0: off)")
    ->check(CLI::Range(int64_t{0}, int64_t{100000}));
  app.add_option("--link-readers", cfg.link_readers,
                 "threads that read the direct links (0: min(cores, 2))")
    ->check(CLI::Range(size_t{0}, size_t{64}));
  app.add_option("--journal", cfg.journal,
                 "persistent state: sqlite:PATH, postgresql://..., memory:");
  std::string membership = "seeds";
  app.add_option("--membership,--cluster.membership", membership,
                 "where the membership is kept: seeds|etcd")
    ->check(CLI::IsMember({"seeds", "etcd"}));
  app.add_option("--etcd-endpoints,--cluster.etcd.endpoints",
                 cfg.etcd.endpoints,
                 "etcd client endpoints (host:port, comma-separated)")
    ->delimiter(',')
    ->allow_extra_args(false);
  std::string lease_ttl = "3s";
  app.add_option("--etcd-lease-ttl,--cluster.etcd.lease-ttl", lease_ttl,
                 "etcd lease of this node: gone after it without renewal "
                 "(whole seconds: 3s)");
  std::string level = "info";
  app.add_option("--log-level", level, "trace|debug|info|warn|error|off")
    ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  if (allow_positional)
    app.add_option("args", out.positional, "arguments of the program");
  // CLI11 reads the config file before the environment, so a file would win
  // over a variable. Hand each variable over as a flag instead, unless the
  // command line has that flag: flags > environment > file > defaults.
  static constexpr std::pair<const char*, const char*> env_flags[] = {
    {"TROUPE_NAME", "--name"},
    {"TROUPE_HOST", "--host"},
    {"TROUPE_PORT", "--port"},
    {"TROUPE_SEEDS", "--seeds"},
    {"TROUPE_THREADS", "--threads"},
    {"TROUPE_SCHEDULER", "--scheduler"},
    {"TROUPE_MAX_MESSAGE_SIZE", "--max-message-size"},
    {"TROUPE_SHUTDOWN_TIMEOUT_MS", "--shutdown-timeout-ms"},
    {"TROUPE_LOG_LEVEL", "--log-level"},
    {"TROUPE_HEARTBEAT_MS", "--heartbeat-ms"},
    {"TROUPE_FAILURE_TIMEOUT_MS", "--failure-timeout-ms"},
    {"TROUPE_DETECTION", "--detection"},
    {"TROUPE_MONITORS", "--monitors"},
    {"TROUPE_FLOW_WINDOW", "--flow-window"},
    {"TROUPE_METRICS_PORT", "--metrics-port"},
    {"TROUPE_HTTP_PORT", "--http-port"},
    {"TROUPE_HTTP_TOKEN", "--http-token"},
    {"TROUPE_SECRET", "--secret"},
    {"TROUPE_TLS_CA", "--tls-ca"},
    {"TROUPE_TLS_CERT", "--tls-cert"},
    {"TROUPE_TLS_KEY", "--tls-key"},
    {"TROUPE_MAX_CONNECTIONS", "--max-connections"},
    {"TROUPE_MAX_HANDSHAKING", "--max-handshaking"},
    {"TROUPE_HANDSHAKE_TIMEOUT_MS", "--handshake-timeout-ms"},
    {"TROUPE_DIRECT_LINKS", "--direct-links"},
    {"TROUPE_LINK_SPIN_US", "--link-spin-us"},
    {"TROUPE_REQUEST_SPIN_US", "--request-spin-us"},
    {"TROUPE_LINK_READERS", "--link-readers"},
    {"TROUPE_JOURNAL", "--journal"},
    {"TROUPE_MEMBERSHIP", "--membership"},
    {"TROUPE_ETCD_ENDPOINTS", "--etcd-endpoints"},
    {"TROUPE_ETCD_LEASE_TTL", "--etcd-lease-ttl"},
  };
  auto on_command_line = [&](std::string_view flag) {
    for (int i = 1; i < argc; ++i) {
      std::string_view arg = argv[i];
      if (arg == flag
          || (arg.size() > flag.size() && arg.substr(0, flag.size()) == flag
              && arg[flag.size()] == '='))
        return true;
    }
    return false;
  };
  std::vector<std::string> args;
  for (auto [var, flag] : env_flags)
    if (auto value = std::getenv(var); value != nullptr && !on_command_line(flag))
      args.emplace_back(std::string{flag} + "=" + value);
  for (int i = 1; i < argc; ++i)
    args.emplace_back(argv[i]);
  std::reverse(args.begin(), args.end()); // CLI11 wants them reversed
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    out.help = true;
    out.help_text = app.help();
    return out;
  } catch (const CLI::ParseError& e) {
    return make_error(errc::bad_config, e.what());
  }
  parse_log_level(level, cfg.log);
  cfg.shutdown_timeout = std::chrono::milliseconds{shutdown_ms};
  cfg.failure_detector.heartbeat_interval = std::chrono::milliseconds{
    heartbeat_ms};
  cfg.failure_detector.failure_timeout = std::chrono::milliseconds{failure_ms};
  cfg.failure_detector.gossip = detection == "gossip";
  cfg.troupe_scheduler = scheduler == "troupe";
  cfg.link_spin = std::chrono::microseconds{spin_us};
  cfg.request_spin = std::chrono::microseconds{request_spin_us};
  cfg.handshake_timeout = std::chrono::milliseconds{handshake_ms};
  if (failure_ms < 3 * heartbeat_ms)
    return make_error(errc::bad_config,
                      fmt::format("failure timeout ({} ms) must be at least "
                                  "three heartbeat intervals ({} ms)",
                                  failure_ms, heartbeat_ms));
  for (auto& seed : cfg.seeds)
    if (auto ep = parse_endpoint(seed); !ep)
      return make_error(errc::bad_config,
                        fmt::format("bad seed: {}", describe(ep.error())));
  if (cfg.host.empty())
    return make_error(errc::bad_config, "host must not be empty");
  cfg.membership = membership == "etcd" ? membership_provider::etcd
                                        : membership_provider::seeds;
  if (auto ttl = parse_lease_ttl(lease_ttl))
    cfg.etcd.lease_ttl = *ttl;
  else
    return std::move(ttl.error());
  if (cfg.etcd.endpoints.empty())
    return make_error(errc::bad_config, "etcd endpoints must not be empty");
  for (auto& x : cfg.etcd.endpoints)
    if (auto ep = parse_endpoint(x); !ep)
      return make_error(errc::bad_config, fmt::format("bad etcd endpoint: {}",
                                                      describe(ep.error())));
  return out;
}

} // namespace troupe
