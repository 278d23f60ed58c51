// SPDX-License-Identifier: Apache-2.0
// The `troupe` command: looks into a running cluster through any one of its
// nodes (`tree`, `nodes`, the live `top`) and drills supervision (`kill`).
// The work is done by troupe_tool (include/troupe/tool/), which the tests
// exercise; curses_top.cpp only draws `top` on the terminal.
#include "curses_top.hpp"
#include "troupe/tool/client.hpp"
#include "troupe/tool/error.hpp"
#include "troupe/tool/render.hpp"

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

namespace {

using namespace troupe::tool;

// Reports `err` on one line and returns its exit code.
int fail(const caf::error& err) {
  std::cerr << "troupe: " << describe(err) << '\n';
  return exit_code(err);
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Looks into a running troupe cluster through one of its nodes.",
               "troupe"};
  app.require_subcommand(1);
  app.footer("Exit codes: 0 ok, 1 error, 2 usage or bad address, 3 node "
             "unreachable, 4 unknown actor path (kill).");
  std::string address;
  std::string path;
  std::string mode = "exit";
  std::string secret;
  std::string tls_ca, tls_cert, tls_key;
  double timeout_s = 10;
  bool json = false;
  bool dot = false;
  bool no_color = false;
  auto add_common = [&](CLI::App* cmd, const char* which) {
    cmd->add_option("address", address, which)
        ->type_name("HOST:PORT")
        ->required();
    cmd->add_option("--timeout", timeout_s, "seconds to wait for the node")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    // How the tool proves it belongs: the cluster's secret, or a client
    // certificate of the cluster's CA (tools/tls/make-dev-ca makes one).
    cmd->add_option("--secret", secret, "the cluster secret")
        ->envname("TROUPE_SECRET");
    cmd->add_option("--tls-ca", tls_ca, "TLS: the cluster's CA (PEM)")
        ->envname("TROUPE_TLS_CA");
    cmd->add_option("--tls-cert", tls_cert, "TLS: the tool's certificate")
        ->envname("TROUPE_TLS_CERT");
    cmd->add_option("--tls-key", tls_key, "TLS: the tool's key")
        ->envname("TROUPE_TLS_KEY");
  };
  auto* tree = app.add_subcommand("tree", "the cluster's supervision trees");
  add_common(tree, "any node of the cluster");
  auto* json_flag = tree->add_flag("--json", json, "JSON, for scripts");
  tree->add_flag("--dot", dot, "a Graphviz digraph")->excludes(json_flag);
  tree->add_flag("--no-color", no_color, "no ANSI colours");
  auto* nodes = app.add_subcommand("nodes", "the members and their state");
  add_common(nodes, "any node of the cluster");
  nodes->add_flag("--json", json, "JSON, for scripts (the tree's)");
  nodes->add_flag("--no-color", no_color, "no ANSI colours");
  auto* top = app.add_subcommand(
      "top", "a live view of every actor, busiest first (q quits)");
  add_common(top, "any node of the cluster");
  auto* kill =
      app.add_subcommand("kill", "make an actor fail, to drill its supervisor");
  add_common(kill, "the node whose tree lists the actor");
  kill->add_option("path", path, "its supervision path on that node")
      ->type_name("PATH")
      ->required();
  kill->add_option("--mode", mode,
                   "exit: it ends and its supervisor respawns it from its "
                   "spec (new address); throw: it fails as a handler throw "
                   "would and its supervisor decides (restart in place, same "
                   "address, unless temporary)")
      ->type_name("exit|throw")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) // --help
      return app.exit(e);
    std::cerr << "troupe: " << e.what() << " (see troupe --help)\n";
    return static_cast<int>(tool_errc::usage);
  }
  auto ep = parse_endpoint(address);
  if (!ep)
    return fail(ep.error());
  client_options opts;
  opts.timeout =
      std::chrono::milliseconds{static_cast<int64_t>(timeout_s * 1000)};
  opts.secret = secret;
  opts.tls_ca = tls_ca;
  opts.tls_cert = tls_cert;
  opts.tls_key = tls_key;
  if (kill->parsed()) {
    auto checked = parse_actor_path(path);
    if (!checked)
      return fail(checked.error());
    auto how = parse_kill_mode(mode);
    if (!how)
      return fail(how.error());
    auto reply = kill_actor(*ep, *checked, secret, *how, opts);
    if (!reply)
      return fail(reply.error());
    std::cout << kill_summary(*checked, *reply, *how) << '\n';
    return 0;
  }
  if (top->parsed())
    return run_top(*ep, opts);
  auto snap = fetch_snapshot(*ep, opts);
  if (!snap)
    return fail(snap.error());
  auto color = !no_color && ::isatty(STDOUT_FILENO) != 0 &&
               std::getenv("NO_COLOR") == nullptr;
  if (json)
    std::cout << to_json(*snap).dump(2) << '\n';
  else if (dot)
    std::cout << to_dot(*snap);
  else if (tree->parsed())
    std::cout << render_tree(*snap, {color});
  else
    std::cout << render_nodes(*snap, color);
  return 0;
}
