// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace troupe::test {

/// How a command ended and what it printed (stdout and stderr, merged).
struct command_result {
  int exit_code = 0; // 128+N when killed by signal N
  std::string output;
};

/// Runs `argv` to completion (no shell: `argv[0]` is the path of the
/// program, the rest are passed as they are). Throws if it cannot start.
command_result run_command(const std::vector<std::string>& argv);

/// A small network for partition tests: nodes 1..N, each a network namespace
/// with one address on a shared /24, wired by a veth pair to a Linux bridge
/// that lives in a namespace of its own:
///
///   node i: lo, eth0 <subnet>.i/24  <==veth==>  p<i> -- br0  (bridge ns)
///
/// Nodes are numbered from 1, as their names and addresses are; index 0 or
/// above `size()` throws `std::out_of_range`. Only namespaces this object
/// creates are touched (names start with `trp<pid>t`), never the interfaces,
/// routes or addresses of the root namespace.
///
/// A program runs inside node i when started with `exec_prefix(i)` in front
/// of its arguments:
///
///   netns_topology net{3};
///   auto argv = net.exec_prefix(1);
///   argv.insert(argv.end(), {program("troupe_test_node"), "--host",
///                            net.address(1), "--port", "0"});
///   child_process a{argv};
///
/// Declaration order matters: declare the topology BEFORE any process that
/// runs inside it, so those processes are stopped (`child_process`'s
/// destructor) before the namespaces are deleted (this destructor). A
/// namespace deleted while a process still runs inside it loses its name
/// but lives on, with its interfaces, until that process exits.
///
/// Every step runs `ip` without a shell and checks its exit code; a failure
/// throws `std::runtime_error` naming the command and quoting its output.
/// Whatever the constructor created is removed again when it throws, and the
/// destructor removes everything else, so a test that fails midway leaves
/// nothing behind.
class netns_topology {
public:
  /// Why these tests cannot run here (not root, no `ip`, `ip netns add`
  /// or a bridge or veth pair failing), or nothing when they can. For
  /// `if (auto why = netns_topology::unavailable()) GTEST_SKIP() << *why;`.
  /// Probes once per process (in a scratch namespace of its own).
  static std::optional<std::string> unavailable();

  /// Creates `nodes` namespaces addressed `<subnet>.1` .. `<subnet>.<nodes>`
  /// (`subnet`: the first three octets of a private /24, e.g. "10.251.0").
  /// Throws `std::invalid_argument` for a bad size or subnet and
  /// `std::runtime_error` when unavailable or when a step fails.
  explicit netns_topology(size_t nodes = 3, std::string subnet = "10.251.0");

  /// Deletes every namespace created, nodes first, then the bridge.
  ~netns_topology();

  netns_topology(const netns_topology&) = delete;
  netns_topology& operator=(const netns_topology&) = delete;

  size_t size() const noexcept {
    return nodes_;
  }

  /// The name of node i's namespace (as `ip netns list` shows it).
  const std::string& name(size_t i) const;

  /// The namespace holding the bridge.
  const std::string& bridge_name() const noexcept {
    return bridge_;
  }

  /// Node i's IPv4 address (without prefix length), e.g. "10.251.0.1".
  std::string address(size_t i) const;

  /// {"<path of ip>", "netns", "exec", name(i)}: put it in front of a
  /// program's argv to start that program inside node i. `ip netns exec`
  /// execs the program, so the PID `child_process` sees is the program's.
  std::vector<std::string> exec_prefix(size_t i) const;

  /// Runs `argv` to completion inside node i.
  command_result run_in(size_t i, const std::vector<std::string>& argv) const;

  /// Takes node i's link to the bridge down: node i reaches no other node
  /// and none reaches it; the others still reach each other. Also forgets
  /// the ARP entries for node i's address (and node i's own), so that a new
  /// connection across the cut fails within seconds ("No route to host")
  /// instead of waiting for TCP's connect timeout. Established connections
  /// are not reset: their packets are dropped.
  void cut(size_t i);

  /// Brings node i's link to the bridge up again.
  void restore(size_t i);

  /// The path of the `ip` binary; throws `std::runtime_error` when there
  /// is none.
  static std::string ip_command();

  /// Every network namespace name `ip netns list` shows.
  static std::vector<std::string> list_namespaces();

  /// Deletes every namespace left over by THIS process (names starting with
  /// `trp<pid>` followed by a non-digit), e.g. after a crash of a test that
  /// shares the process. Idempotent; returns how many it deleted. Deletes
  /// the namespaces of live `netns_topology` objects too, so call it only
  /// when there are none.
  static size_t cleanup_leftovers();

private:
  void ip(std::vector<std::string> args) const;
  size_t check(size_t i) const;
  void remove_all() noexcept;

  size_t nodes_;
  std::string subnet_;
  std::string bridge_;
  std::vector<std::string> names_;   // node namespaces, index i-1
  std::vector<std::string> created_; // in order of creation
};

} // namespace troupe::test
