// SPDX-License-Identifier: Apache-2.0
// The launcher's steps (see launch.cpp): serve nodes, a formed cluster, the
// example's run, the tree, and every process stopped.
#include <cerrno>
#include <iostream>
#include <set>

#include <sys/stat.h>
#include <unistd.h>

#include "launch_fleet.hpp"
#include "troupe/tool/client.hpp"
#include "troupe/tool/error.hpp"
#include "troupe/tool/render.hpp"

namespace launch {

namespace {

using namespace std::chrono_literals;

// The members a node's log reports up: the runtime logs "member 'n2'
// (incarnation ...) at 127.0.0.1:port is up".
std::set<std::string> members_up(const child& c) {
  std::set<std::string> out;
  for (auto& line : c.err) {
    auto at = line.find("member '");
    if (at != line.npos && line.size() > 6 &&
        line.compare(line.size() - 6, 6, " is up") == 0) {
      at += 8;
      out.insert(line.substr(at, line.find('\'', at) - at));
    }
  }
  return out;
}

// The port a node printed as "READY port=<p>"; 0 before that.
long ready_port(const child& c) {
  for (auto& line : c.out)
    if (auto at = line.find("READY port="); at != line.npos)
      return std::atol(line.c_str() + at + 11);
  return 0;
}

} // namespace

int run(const options& o) {
  auto logs = o.logs;
  if (logs.empty()) {
    char tmpl[] = "/tmp/troupe-launch-XXXXXX";
    logs = ::mkdtemp(tmpl) != nullptr ? tmpl : "";
  } else if (::mkdir(logs.c_str(), 0755) != 0 && errno != EEXIST) {
    logs.clear();
  }
  if (logs.empty() || ::access(logs.c_str(), W_OK) != 0) {
    std::cerr << "launch: cannot make a folder for the logs\n";
    return 1;
  }
  std::cout << "LOGS " << logs << std::endl;
  fleet f;
  std::vector<child*> nodes;
  auto start = [&](const std::string& name, std::vector<std::string> args,
                   bool echo) -> child& {
    args.insert(args.begin(), {o.program, "--name", name});
    // How each process proves it belongs (before `args`: --seeds takes a
    // list and goes last).
    if (!o.tls.empty())
      args.insert(args.begin() + 3,
                  {"--tls-ca", o.tls + "/ca.pem", "--tls-cert",
                   o.tls + "/" + name + ".pem", "--tls-key",
                   o.tls + "/" + name + ".key"});
    else if (!o.secret.empty())
      args.insert(args.begin() + 3, {"--secret", o.secret});
    // One journal for every process: persistent actors that move between
    // nodes find their state (SQLite's locks serve several processes).
    args.insert(args.begin() + 3,
                {"--journal", o.journal.empty()
                                  ? "sqlite:" + logs + "/journal.db"
                                  : o.journal});
    auto log = logs + "/" + name + ".log";
    auto& c = f.start(name, args, log, echo);
    std::cout << "NODE " << name << " pid=" << c.pid << " log=" << log
              << std::endl;
    return c;
  };
  auto port_of = [&](size_t k) {
    return std::to_string(o.ports.empty() ? 0 : o.ports[k]);
  };
  auto any_exited = [&] {
    for (auto* c : nodes)
      if (c->exit_code)
        return true;
    return false;
  };
  // Stops everything; the exit code says what went wrong.
  auto finish = [&](int rc, const std::string& what) {
    if (!what.empty())
      std::cerr << "launch: " << what << " (logs in " << logs << ")\n";
    f.stop_all(15s);
    for (auto& c : f.children())
      std::cout << "STOPPED " << c->name << " pid=" << c->pid
                << " exit=" << c->exit_code.value_or(-1) << std::endl;
    return f.signal() != 0 ? 128 + f.signal() : rc;
  };
  auto waited = [&](outcome x, const std::string& what) {
    if (x == outcome::signaled)
      return finish(1, "stopping on signal " + std::to_string(f.signal()));
    for (auto* c : nodes)
      if (c->exit_code)
        return finish(1, c->name + " exited (code " +
                             std::to_string(*c->exit_code) + ")");
    return x == outcome::timed_out ? finish(1, what) : 0;
  };
  // Info level whatever the environment says: the launcher reads the
  // "member ... is up" lines.
  nodes.push_back(&start(
      "n1", {"--port", port_of(0), "--log-level", "info", "serve"}, false));
  auto r = f.wait(
      [&] {
        return ready_port(*nodes[0]) > 0 || any_exited();
      },
      30s);
  if (auto rc = waited(r, "n1 did not print READY port=<p> within 30 s"))
    return rc;
  auto seed = "127.0.0.1:" + std::to_string(ready_port(*nodes[0]));
  for (long k = 1; k < o.nodes; ++k)
    nodes.push_back(&start(
        "n" + std::to_string(k + 1),
        {"--port", port_of(k), "--log-level", "info", "serve", "--seeds", seed},
        false));
  // Formed: every node has seen every other one up.
  r = f.wait(
      [&] {
        if (any_exited())
          return true;
        for (auto* c : nodes) {
          auto up = members_up(*c);
          for (auto* other : nodes)
            if (other != c && up.count(other->name) == 0)
              return false;
        }
        return true;
      },
      30s);
  if (auto rc = waited(r, "the nodes did not form a cluster within 30 s"))
    return rc;
  std::cout << "CLUSTER " << nodes.size() << " nodes up, seed " << seed
            << std::endl;
  // --seeds takes one comma-separated list; last out of habit.
  std::vector<std::string> run_args{"run"};
  run_args.insert(run_args.end(), o.args.begin(), o.args.end());
  run_args.insert(run_args.end(), {"--seeds", seed});
  auto& job = start("run", run_args, true);
  r = f.wait(
      [&] {
        return job.exit_code.has_value();
      },
      o.timeout);
  if (r == outcome::signaled)
    return finish(1, "stopping on signal " + std::to_string(f.signal()));
  if (r == outcome::timed_out)
    return finish(1, "the run did not finish within " +
                         std::to_string(o.timeout.count()) + " s");
  int rc = *job.exit_code;
  if (rc != 0) {
    std::cerr << "launch: the run failed (exit " << rc << "); its last log "
              << "lines:\n";
    for (auto k = job.err.size() > 10 ? job.err.size() - 10 : 0;
         k < job.err.size(); ++k)
      std::cerr << "  " << job.err[k] << '\n';
  }
  std::cout << "\n$ troupe tree " << seed << std::endl;
  troupe::tool::client_options copts;
  copts.secret = o.secret;
  if (!o.tls.empty()) {
    copts.tls_ca = o.tls + "/ca.pem";
    copts.tls_cert = o.tls + "/tool.pem";
    copts.tls_key = o.tls + "/tool.key";
  }
  auto snap = troupe::tool::fetch_snapshot(
      {"127.0.0.1", static_cast<uint16_t>(ready_port(*nodes[0]))}, copts);
  if (!snap)
    return finish(rc != 0 ? rc : 1, "troupe tree failed: " +
                                        troupe::tool::describe(snap.error()));
  std::cout << troupe::tool::render_tree(*snap) << std::flush;
  return finish(rc, "");
}

} // namespace launch
