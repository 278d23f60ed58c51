// SPDX-License-Identifier: Apache-2.0
// Launches a local cluster for an example: N nodes in `serve` mode on
// 127.0.0.1, waits until they have formed a cluster, runs the example's `run`
// mode against them, prints the whole cluster's actor tree (the `troupe`
// tool's library), and stops every process it started, by PID, also when
// the example fails or on Ctrl-C / SIGTERM.
//
//   launch [--nodes N] [--ports P1,P2,..] [--logs DIR] [--timeout S]
//          EXAMPLE [ARGS...]
//
// EXAMPLE is a program next to this one (or in a folder of its name) that takes
// node flags plus a mode: `serve` prints "READY port=<p>" and runs until
// SIGTERM; `run` joins through --seeds, does its job and exits (0 on success).
// ARGS go to `run`.
#include <algorithm>
#include <climits>
#include <iostream>

#include <sys/stat.h>
#include <unistd.h>

#include "launch_fleet.hpp"

namespace {

const char* usage =
    "usage: launch [--nodes N] [--ports P1,P2,..] [--logs DIR] [--timeout S]\n"
    "              [--tls DIR | --secret S] [--journal LOC] "
    "EXAMPLE [ARGS...]\n"
    "  --nodes N     serve nodes to start (1-16, default 3)\n"
    "  --ports LIST  their ports, 0 for one the OS chooses (default: all 0)\n"
    "  --logs DIR    folder for the logs (default: a new one in /tmp)\n"
    "  --timeout S   bound on the example's run in seconds (default 300)\n"
    "  --tls DIR     TLS between all processes, with the CA and certificates\n"
    "                in DIR (tools/tls/make-dev-ca DIR n1 n2 n3 run tool)\n"
    "  --secret S    a cluster secret every process must prove it knows\n"
    "  --journal LOC every process's journal (default: sqlite:LOGS/journal.db,\n"
    "                one file they share; or postgresql://...)\n";

int bad(const std::string& what) {
  std::cerr << "launch: " << what << "\n" << usage;
  return 2;
}

// A whole number in [lo, hi], or -1.
long number(const std::string& s, long lo, long hi) {
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != s.npos)
    return -1;
  auto x = std::stol(s);
  return x >= lo && x <= hi ? x : -1;
}

} // namespace

int main(int argc, char** argv) {
  launch::options opts;
  bool nodes_given = false;
  int i = 1;
  for (; i < argc && std::string{argv[i]}.rfind("--", 0) == 0; ++i) {
    std::string flag = argv[i], value;
    if (flag == "--help")
      return std::cout << usage, 0;
    if (auto eq = flag.find('='); eq != flag.npos)
      value = flag.substr(eq + 1), flag.resize(eq);
    else if (i + 1 < argc)
      value = argv[++i];
    if (flag == "--nodes") {
      nodes_given = true;
      if ((opts.nodes = number(value, 1, 16)) < 0)
        return bad("--nodes takes a number from 1 to 16, not '" + value + "'");
    } else if (flag == "--timeout") {
      auto s = number(value, 1, 86400);
      if (s < 0)
        return bad("--timeout takes seconds (1-86400), not '" + value + "'");
      opts.timeout = std::chrono::seconds{s};
    } else if (flag == "--logs") {
      opts.logs = value;
    } else if (flag == "--tls") {
      if (::access((value + "/ca.pem").c_str(), R_OK) != 0)
        return bad("--tls: no readable " + value + "/ca.pem (make one with "
                   "tools/tls/make-dev-ca " + value + " n1 n2 n3 run tool)");
      opts.tls = value;
    } else if (flag == "--journal") {
      if (value.empty())
        return bad("--journal takes a location");
      opts.journal = value;
    } else if (flag == "--secret") {
      if (value.empty())
        return bad("--secret takes a non-empty secret");
      opts.secret = value;
    } else if (flag == "--ports") {
      for (size_t pos = 0; pos <= value.size();) {
        auto end = std::min(value.find(',', pos), value.size());
        auto port = number(value.substr(pos, end - pos), 0, 65535);
        if (port < 0)
          return bad("--ports takes ports (0-65535, 0: OS-chosen) separated by "
                     "commas, not '" +
                     value + "'");
        opts.ports.push_back(static_cast<uint16_t>(port));
        pos = end + 1;
      }
    } else {
      return bad("unknown flag " + flag);
    }
  }
  auto np = static_cast<long>(opts.ports.size());
  if (np > 0 && nodes_given && np != opts.nodes)
    return bad("--ports lists " + std::to_string(np) + " ports for " +
               std::to_string(opts.nodes) + " nodes");
  if (np > 0)
    opts.nodes = np;
  if (i >= argc)
    return bad("which example?");
  // The example: a program next to this one (or in a folder of its name).
  std::string example = argv[i];
  char self[PATH_MAX] = {};
  auto len = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  std::string dir{self, len > 0 ? static_cast<size_t>(len) : 0};
  dir = dir.substr(0, dir.rfind('/'));
  auto runnable = [](const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
           ::access(path.c_str(), X_OK) == 0;
  };
  opts.program = dir + "/" + example;
  if (!runnable(opts.program))
    opts.program = dir + "/" + example + "/" + example;
  if (example.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") !=
          example.npos ||
      example == "launch" || !runnable(opts.program))
    return bad("unknown example '" + example + "' (no program " + dir + "/" +
               example + ")");
  opts.args.assign(argv + i + 1, argv + argc);
  try {
    return launch::run(opts); // stops its processes, also when it throws
  } catch (std::exception& e) {
    std::cerr << "launch: " << e.what() << '\n';
    return 1;
  }
}
