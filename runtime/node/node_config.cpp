#include "troupe/node/node_config.hpp"

#include <cstdlib>
#include <fstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "troupe/error.hpp"

namespace troupe {

caf::expected<std::pair<std::string, uint16_t>>
parse_endpoint(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return make_error(errc::bad_config,
                      fmt::format("'{}' is not of the form host:port", text));
  auto host = text.substr(0, colon);
  auto port_text = text.substr(colon + 1);
  char* end = nullptr;
  auto value = std::strtoul(port_text.c_str(), &end, 10);
  if (*end != '\0' || port_text[0] == '-' || value == 0 || value > 65535)
    return make_error(errc::bad_config,
                      fmt::format("'{}' has no valid port (1-65535)", text));
  return std::make_pair(std::move(host), static_cast<uint16_t>(value));
}

caf::expected<parsed_config> parse_node_config(int argc,
                                               const char* const* argv,
                                               bool allow_positional) {
  parsed_config out;
  auto& cfg = out.config;
  CLI::App app{"troupe node", argc > 0 ? argv[0] : "troupe-node"};
  app.option_defaults()->always_capture_default();
  std::string config_file;
  app.set_config("--config", "", "INI file with node settings")
    ->envname("TROUPE_CONFIG");
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.add_option("--name", cfg.name, "node name (default: node-<pid>)")
    ->envname("TROUPE_NAME");
  app.add_option("--host", cfg.host, "address to listen on")
    ->envname("TROUPE_HOST");
  app.add_option("--port", cfg.port, "port to listen on (0: OS-chosen)")
    ->envname("TROUPE_PORT");
  app.add_option("--seeds", cfg.seeds, "nodes to connect to (host:port)")
    ->envname("TROUPE_SEEDS")
    ->delimiter(',');
  app.add_option("--threads", cfg.threads, "worker threads (0: one per core)")
    ->envname("TROUPE_THREADS")
    ->check(CLI::Range(0, 1024));
  app.add_option("--max-message-size", cfg.max_message_size,
                 "largest Protobuf message in bytes")
    ->envname("TROUPE_MAX_MESSAGE_SIZE")
    ->check(CLI::Range(size_t{1}, size_t{1} << 31));
  int64_t shutdown_ms = cfg.shutdown_timeout.count();
  app.add_option("--shutdown-timeout-ms", shutdown_ms,
                 "bound on each shutdown phase")
    ->envname("TROUPE_SHUTDOWN_TIMEOUT_MS")
    ->check(CLI::Range(int64_t{1}, int64_t{3600000}));
  std::string level = "info";
  app.add_option("--log-level", level, "trace|debug|info|warn|error|off")
    ->envname("TROUPE_LOG_LEVEL")
    ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  if (allow_positional)
    app.add_option("args", out.positional, "arguments of the program");
  std::vector<std::string> args;
  for (int i = argc - 1; i > 0; --i)
    args.emplace_back(argv[i]); // CLI11 wants them reversed
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
  for (auto& seed : cfg.seeds)
    if (auto ep = parse_endpoint(seed); !ep)
      return make_error(errc::bad_config,
                        fmt::format("bad seed: {}", describe(ep.error())));
  if (cfg.host.empty())
    return make_error(errc::bad_config, "host must not be empty");
  return out;
}

} // namespace troupe
