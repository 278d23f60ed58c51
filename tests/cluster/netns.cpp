// SPDX-License-Identifier: Apache-2.0
#include "netns.hpp"

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace troupe::test {

namespace {

// The interface names: the same in every topology, as each lives in a
// namespace of the topology's own.
constexpr const char* bridge_if = "br0";
constexpr const char* node_if = "eth0";

std::string port_if(size_t i) {
  return "p" + std::to_string(i);
}

std::string pid_prefix() {
  return "trp" + std::to_string(::getpid());
}

std::string trim(std::string x) {
  while (!x.empty() && std::isspace(static_cast<unsigned char>(x.back())))
    x.pop_back();
  return x;
}

std::string join(const std::vector<std::string>& xs) {
  std::string result;
  for (auto& x : xs) {
    if (!result.empty())
      result += ' ';
    result += x;
  }
  return result;
}

// The path of `ip`: PATH first, then where Debian and others install it
// (a test runner's PATH may lack the sbin folders).
const std::optional<std::string>& ip_binary() {
  static const std::optional<std::string> path = [] {
    std::vector<std::string> dirs;
    if (auto env = std::getenv("PATH")) {
      std::istringstream in{env};
      for (std::string dir; std::getline(in, dir, ':');)
        if (!dir.empty())
          dirs.push_back(dir);
    }
    for (auto dir : {"/usr/sbin", "/sbin", "/usr/bin", "/bin"})
      dirs.emplace_back(dir);
    for (auto& dir : dirs) {
      auto candidate = dir + "/ip";
      if (::access(candidate.c_str(), X_OK) == 0)
        return std::optional<std::string>{candidate};
    }
    return std::optional<std::string>{};
  }();
  return path;
}

command_result run_ip(std::vector<std::string> args) {
  args.insert(args.begin(), *ip_binary());
  return run_command(args);
}

// Three octets of a private /24 (10/8, 172.16/12 or 192.168/16).
bool private_subnet(const std::string& subnet) {
  std::vector<int> octets;
  std::istringstream in{subnet};
  for (std::string part; std::getline(in, part, '.');) {
    if (part.empty() || part.size() > 3)
      return false;
    for (auto c : part)
      if (!std::isdigit(static_cast<unsigned char>(c)))
        return false;
    octets.push_back(std::stoi(part));
    if (octets.back() > 255)
      return false;
  }
  if (octets.size() != 3 || subnet.back() == '.')
    return false;
  return octets[0] == 10 || (octets[0] == 172 && (octets[1] & 0xf0) == 16)
         || (octets[0] == 192 && octets[1] == 168);
}

std::optional<std::string> probe() {
  if (::geteuid() != 0)
    return "network namespaces need root (running as uid "
           + std::to_string(::geteuid()) + ")";
  if (!ip_binary())
    return std::string{"no `ip` binary (iproute2) in PATH, /usr/sbin or /sbin"};
  // Everything a topology needs, tried once in a scratch namespace.
  auto ns = pid_prefix() + "probe";
  try {
    auto add = run_ip({"netns", "add", ns});
    if (add.exit_code != 0)
      return "`ip netns add` failed (exit " + std::to_string(add.exit_code)
             + "): " + trim(add.output);
    std::optional<std::string> why;
    auto bridge = run_ip({"-n", ns, "link", "add", "br0", "type", "bridge"});
    if (bridge.exit_code != 0)
      why = "cannot create a bridge: " + trim(bridge.output);
    auto veth = run_ip(
      {"-n", ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1"});
    if (!why && veth.exit_code != 0)
      why = "cannot create a veth pair: " + trim(veth.output);
    auto del = run_ip({"netns", "del", ns});
    if (!why && del.exit_code != 0)
      why = "`ip netns del` failed: " + trim(del.output);
    return why;
  } catch (const std::exception& e) {
    return std::string{"cannot run ip: "} + e.what();
  }
}

} // namespace

command_result run_command(const std::vector<std::string>& argv) {
  if (argv.empty())
    throw std::invalid_argument("run_command: empty argv");
  // Close-on-exec, so that no other child started meanwhile holds the write
  // end open (the read below ends when the last writer is gone).
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string{"pipe2 failed: "}
                             + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  std::vector<std::string> store{argv};
  std::vector<char*> args;
  for (auto& x : store)
    args.push_back(x.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  auto rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(),
                        environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    throw std::runtime_error("cannot start " + argv[0] + ": "
                             + std::strerror(rc));
  }
  command_result result;
  char buf[4096];
  for (;;) {
    auto n = ::read(fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    result.output.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      throw std::runtime_error(std::string{"waitpid failed: "}
                               + std::strerror(errno));
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status)
                                       : 128 + WTERMSIG(status);
  return result;
}

std::optional<std::string> netns_topology::unavailable() {
  static const std::optional<std::string> why = probe();
  return why;
}

netns_topology::netns_topology(size_t nodes, std::string subnet)
  : nodes_(nodes), subnet_(std::move(subnet)) {
  if (nodes_ < 1 || nodes_ > 254)
    throw std::invalid_argument("netns_topology: 1 to 254 nodes, not "
                                + std::to_string(nodes_));
  if (!private_subnet(subnet_))
    throw std::invalid_argument("netns_topology: subnet '" + subnet_
                                + "' is not three octets of a private /24"
                                  " (e.g. 10.251.0)");
  if (auto why = unavailable())
    throw std::runtime_error("netns_topology: unavailable: " + *why);
  // The pid keeps concurrent test processes apart, the counter several
  // topologies of one process.
  static std::atomic<unsigned> instances{0};
  auto prefix = pid_prefix() + "t" + std::to_string(instances++);
  bridge_ = prefix + "br";
  for (size_t i = 1; i <= nodes_; ++i)
    names_.push_back(prefix + "n" + std::to_string(i));
  try {
    ip({"netns", "add", bridge_});
    created_.push_back(bridge_);
    ip({"-n", bridge_, "link", "add", bridge_if, "type", "bridge"});
    ip({"-n", bridge_, "link", "set", bridge_if, "up"});
    for (size_t i = 1; i <= nodes_; ++i) {
      auto& ns = names_[i - 1];
      ip({"netns", "add", ns});
      created_.push_back(ns);
      ip({"-n", ns, "link", "set", "lo", "up"});
      // Created inside the bridge namespace, the peer inside the node's:
      // the root namespace never sees either end.
      ip({"-n", bridge_, "link", "add", port_if(i), "type", "veth", "peer",
          "name", node_if, "netns", ns});
      ip({"-n", bridge_, "link", "set", port_if(i), "master", bridge_if});
      ip({"-n", bridge_, "link", "set", port_if(i), "up"});
      ip({"-n", ns, "addr", "add", address(i) + "/24", "dev", node_if});
      ip({"-n", ns, "link", "set", node_if, "up"});
    }
  } catch (...) {
    remove_all();
    throw;
  }
}

netns_topology::~netns_topology() {
  remove_all();
}

const std::string& netns_topology::name(size_t i) const {
  return names_[check(i) - 1];
}

std::string netns_topology::address(size_t i) const {
  return subnet_ + "." + std::to_string(check(i));
}

std::vector<std::string> netns_topology::exec_prefix(size_t i) const {
  return {*ip_binary(), "netns", "exec", name(i)};
}

command_result
netns_topology::run_in(size_t i, const std::vector<std::string>& argv) const {
  auto args = exec_prefix(i);
  args.insert(args.end(), argv.begin(), argv.end());
  return run_command(args);
}

void netns_topology::cut(size_t i) {
  ip({"-n", bridge_, "link", "set", port_if(check(i)), "down"});
  // With the link down nobody can learn these entries again.
  for (size_t j = 1; j <= nodes_; ++j)
    if (j != i)
      ip({"-n", name(j), "neigh", "flush", "to", address(i)});
  ip({"-n", name(i), "neigh", "flush", "dev", node_if});
}

void netns_topology::restore(size_t i) {
  ip({"-n", bridge_, "link", "set", port_if(check(i)), "up"});
}

std::string netns_topology::ip_command() {
  if (!ip_binary())
    throw std::runtime_error("no `ip` binary (iproute2) found");
  return *ip_binary();
}

std::vector<std::string> netns_topology::list_namespaces() {
  std::vector<std::string> result;
  if (!ip_binary())
    return result;
  auto list = run_ip({"netns", "list"});
  if (list.exit_code != 0)
    throw std::runtime_error("`ip netns list` failed: " + trim(list.output));
  // One namespace a line: "name" or "name (id: N)".
  std::istringstream in{list.output};
  for (std::string line; std::getline(in, line);) {
    std::istringstream words{line};
    std::string name;
    if (words >> name)
      result.push_back(name);
  }
  return result;
}

size_t netns_topology::cleanup_leftovers() {
  if (!ip_binary())
    return 0;
  auto prefix = pid_prefix();
  size_t deleted = 0;
  for (auto& name : list_namespaces()) {
    // "trp12" must not match "trp123...": a non-digit follows the pid.
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix)
        || std::isdigit(static_cast<unsigned char>(name[prefix.size()])))
      continue;
    if (run_ip({"netns", "del", name}).exit_code == 0)
      ++deleted;
  }
  return deleted;
}

void netns_topology::ip(std::vector<std::string> args) const {
  auto result = run_ip(args);
  if (result.exit_code != 0)
    throw std::runtime_error("netns_topology: `ip " + join(args)
                             + "` failed (exit "
                             + std::to_string(result.exit_code)
                             + "): " + trim(result.output));
}

size_t netns_topology::check(size_t i) const {
  if (i < 1 || i > nodes_)
    throw std::out_of_range("netns_topology: node " + std::to_string(i)
                            + " out of 1.." + std::to_string(nodes_));
  return i;
}

void netns_topology::remove_all() noexcept {
  // Nodes first, the bridge last; deleting a namespace deletes its end of
  // each veth pair, and with it the other end.
  for (auto i = created_.rbegin(); i != created_.rend(); ++i) {
    try {
      auto del = run_ip({"netns", "del", *i});
      if (del.exit_code != 0)
        std::cerr << "netns_topology: cannot delete namespace " << *i << ": "
                  << trim(del.output) << '\n';
    } catch (const std::exception& e) {
      std::cerr << "netns_topology: cannot delete namespace " << *i << ": "
                << e.what() << '\n';
    }
  }
  created_.clear();
}

} // namespace troupe::test
