// SPDX-License-Identifier: Apache-2.0
#pragma once

// Three troupe_actors_node processes on 127.0.0.1 (OS-chosen ports) and
// this test process as the fourth member.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cluster/child_process.hpp"
#include "troupe/node/node.hpp"

namespace troupe::test {

inline std::vector<std::string> actors_node_args(const std::string& name,
                                                 const std::string& seed,
                                                 std::vector<std::string> extra
                                                 = {}) {
  // Positional arguments first: --seeds takes every value after it.
  std::vector<std::string> args{program("troupe_actors_node")};
  for (auto& x : extra)
    args.push_back(std::move(x));
  for (auto x : {"--name", name.c_str(), "--port", "0", "--threads", "4"})
    args.emplace_back(x);
  if (!seed.empty()) {
    args.emplace_back("--seeds");
    args.emplace_back(seed);
  }
  return args;
}

/// Starts n1 (the seed), n2 and n3 with `extra[i]` positional arguments,
/// waits until each listens, and returns the seed endpoint.
struct three_nodes {
  std::vector<std::unique_ptr<child_process>> procs;
  std::string seed;

  explicit three_nodes(std::vector<std::vector<std::string>> extra) {
    extra.resize(3);
    procs.push_back(
      std::make_unique<child_process>(actors_node_args("n1", "", extra[0])));
    seed = "127.0.0.1:" + ready_port(*procs[0]);
    for (int i = 1; i < 3; ++i) {
      procs.push_back(std::make_unique<child_process>(actors_node_args(
        "n" + std::to_string(i + 1), seed, extra[static_cast<size_t>(i)])));
      ready_port(*procs.back());
    }
  }

  child_process& operator[](size_t i) {
    return *procs[i];
  }

  /// Waits until every node saw `up` members up.
  bool await_up(size_t up) {
    for (auto& p : procs)
      if (!p->wait_for_line("CLUSTER up=" + std::to_string(up)))
        return false;
    return true;
  }

  std::string output() const {
    std::string result;
    for (auto& p : procs)
      result += p->output() + "\n----\n";
    return result;
  }
};

inline node_config client_config(const std::string& seed) {
  node_config cfg;
  cfg.name = "zz-client";
  cfg.seeds = {seed};
  cfg.log = log_level::error;
  return cfg;
}

} // namespace troupe::test
