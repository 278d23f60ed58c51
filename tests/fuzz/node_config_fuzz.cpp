// SPDX-License-Identifier: Apache-2.0
// Fuzzes a node's configuration parser (runtime/node/node_config.cpp):
// the INI file given with --config, command-line flags and TROUPE_*
// variables. Input: the INI text, then optionally a NUL byte and one
// argument per line; an argument `TROUPE_X=value` is set in the
// environment instead. The parser either fails with bad_config or yields
// a config that keeps its documented rules.
#include <sys/mman.h>
#include <unistd.h>

#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_system.hpp"
#include "troupe/error.hpp"
#include "troupe/node/node_config.hpp"

using namespace troupe;

namespace {

/// The file --config reads: one memfd, rewritten for each input.
int ini_fd() {
  static int fd = [] {
    int x = ::memfd_create("troupe-fuzz.ini", 0);
    if (x < 0)
      fuzz::fail("memfd_create failed");
    return x;
  }();
  return fd;
}

void write_ini(std::string_view text) {
  int fd = ini_fd();
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, text.data(), text.size(), 0) !=
                                     static_cast<ssize_t>(text.size()))
    fuzz::fail("cannot write the INI file");
}

/// Arguments that would make the parser read something other than the
/// input (another file, a device) are left out.
bool harmless(std::string_view arg) {
  std::string lower{arg};
  for (auto& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("config") == std::string::npos &&
         lower.find('/') == std::string::npos;
}

/// What parse_node_config promises about a config it accepts.
void check(const node_config& cfg) {
  if (cfg.host.empty())
    fuzz::fail("accepted an empty host");
  for (auto& seed : cfg.seeds)
    if (!parse_endpoint(seed))
      fuzz::fail("accepted a malformed seed");
  auto& fd = cfg.failure_detector;
  if (fd.failure_timeout < 3 * fd.heartbeat_interval)
    fuzz::fail("accepted a failure timeout under three heartbeats");
  if (cfg.max_message_size < 1 ||
      cfg.max_message_size > static_cast<size_t>(INT32_MAX))
    fuzz::fail("accepted a max-message-size Protobuf cannot parse");
  if (cfg.flow_window < 16 || cfg.threads > 1024)
    fuzz::fail("accepted a value out of its range");
  if (cfg.metrics_port < -1 || cfg.metrics_port > 65535)
    fuzz::fail("accepted a metrics port out of range");
  if (cfg.http_port < -1 || cfg.http_port > 65535)
    fuzz::fail("accepted a dashboard port out of range");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  set_log_level(log_level::off);
  std::string_view input{reinterpret_cast<const char*>(data), size};
  auto nul = input.find('\0');
  write_ini(input.substr(0, nul));
  std::vector<std::string> args{"troupe-node", "--config",
                                "/proc/self/fd/" + std::to_string(ini_fd())};
  std::vector<std::string> env;
  if (nul != std::string_view::npos) {
    auto rest = input.substr(nul + 1);
    while (!rest.empty()) {
      auto eol = rest.find('\n');
      auto arg = rest.substr(0, eol);
      rest = eol == std::string_view::npos ? std::string_view{}
                                           : rest.substr(eol + 1);
      if (!harmless(arg) || arg.find('\0') != std::string_view::npos)
        continue;
      auto eq = arg.find('=');
      if (arg.substr(0, 7) == "TROUPE_" && eq != std::string_view::npos) {
        env.emplace_back(arg.substr(0, eq));
        ::setenv(env.back().c_str(), std::string{arg.substr(eq + 1)}.c_str(),
                 1);
      } else {
        args.emplace_back(arg);
      }
    }
  }
  std::vector<const char*> argv;
  for (auto& a : args)
    argv.push_back(a.c_str());
  auto res = parse_node_config(static_cast<int>(argv.size()), argv.data(),
                               size % 2 == 1);
  for (auto& var : env)
    ::unsetenv(var.c_str());
  if (!res) {
    if (res.error().category() != error_category)
      fuzz::fail("a config error is not troupe's");
    return 0;
  }
  if (!res->help)
    check(res->config);
  return 0;
}
