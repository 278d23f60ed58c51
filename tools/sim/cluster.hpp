// SPDX-License-Identifier: Apache-2.0
// Simulated nodes: each one a troupe::cluster::membership (the runtime's
// pure membership and failure detection) driven by the simulated network
// and clock of network.hpp, with the gossip exchange and heartbeats the
// daemon would send. Counts what was sent.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cluster/membership.hpp"
#include "network.hpp"

namespace troupe::sim {

struct sim_settings {
  cluster::membership_settings membership;
  /// A gossip round every `gossip_interval`, to `fanout` random members.
  micros gossip_interval = 200'000;
  size_t fanout = 1;
  /// What changed at a node is pushed this soon to `push_fanout` random
  /// members (membership::take_changes); 0: only the periodic rounds.
  micros push_delay = 5'000;
  size_t push_fanout = 3;
  network_settings net;
  uint64_t seed = 19;
};

/// Per node, since the last `reset_counts`.
struct counts {
  uint64_t messages = 0;
  uint64_t bytes = 0;
  uint64_t heartbeats = 0;
};

class cluster_sim {
public:
  /// `n` nodes that already form one cluster (each holds every record).
  cluster_sim(size_t n, sim_settings cfg);
  ~cluster_sim();

  /// Adds a node that joins through node 0 (the seed); returns its index.
  size_t join();

  /// Kills node `i` (it sends and answers nothing from now on).
  void kill(size_t i);

  /// Stops node `i` until `until` (SIGSTOP: no tick, no answer).
  void freeze(size_t i, micros until);

  network& net();
  micros now() const;
  void run_until(micros t);

  size_t size() const;
  bool alive(size_t i) const;
  const cluster::membership& node(size_t i) const;

  /// The status node `i`'s view holds of node `j` (nullptr if none).
  const cluster::member_record* record(size_t i, size_t j) const;

  /// Whether every live node's view is the same.
  bool converged() const;

  const std::vector<counts>& sent() const;
  void reset_counts();

  /// Downs decided by any node (who downed whom, when), and fences.
  struct down_event {
    micros at;
    size_t by;
    size_t whom;
  };
  const std::vector<down_event>& downs() const;
  const std::vector<std::pair<micros, size_t>>& fences() const;
  /// Node-ticks in which a node saw some member unreachable.
  uint64_t suspicious_ticks() const;

private:
  struct impl;
  std::unique_ptr<impl> d_;
};

} // namespace troupe::sim
