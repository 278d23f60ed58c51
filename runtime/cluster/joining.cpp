// SPDX-License-Identifier: Apache-2.0
#include "cluster/joining.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "troupe/error.hpp"

namespace troupe::cluster {

caf::error check_joiner(const std::string& self_name,
                        const failure_detector_settings& mine,
                        const joiner_claims& joiner) {
  if (joiner.name == self_name)
    return make_error(errc::bad_config,
                      fmt::format("a node named '{}' is already a member",
                                  joiner.name));
  if (joiner.heartbeat_ms * 2 > mine.failure_timeout.count()
      || mine.heartbeat_interval.count() * 2 > joiner.failure_timeout_ms)
    return make_error(errc::bad_config,
                      fmt::format("failure detector settings of '{}' "
                                  "(heartbeat {} ms, timeout {} ms) clash "
                                  "with this node's ({} ms, {} ms)",
                                  joiner.name, joiner.heartbeat_ms,
                                  joiner.failure_timeout_ms,
                                  mine.heartbeat_interval.count(),
                                  mine.failure_timeout.count()));
  if (joiner.gossip != mine.gossip)
    return make_error(errc::bad_config,
                      fmt::format("'{}' detects failures by {}, this node by "
                                  "{} (--detection)",
                                  joiner.name,
                                  joiner.gossip ? "gossip" : "mesh",
                                  mine.gossip ? "gossip" : "mesh"));
  return caf::none;
}

std::vector<std::string> join_targets(const std::vector<std::string>& seeds,
                                      const std::vector<std::string>& remembered,
                                      const std::string& self_endpoint) {
  std::vector<std::string> targets = seeds;
  targets.insert(targets.end(), remembered.begin(), remembered.end());
  std::sort(targets.begin(), targets.end());
  targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
  targets.erase(std::remove(targets.begin(), targets.end(), self_endpoint),
                targets.end());
  return targets;
}

join_step next_join_step(const join_view& v,
                         std::chrono::steady_clock::time_point now,
                         std::chrono::milliseconds failure_timeout) {
  using namespace std::chrono_literals;
  if (v.alone && !v.connecting
      && now - v.last_attempt >= std::max(failure_timeout, 1000ms)
      && v.has_targets)
    return join_step::rejoin;
  if (!v.alone
      && now - v.last_seed_visit >= std::max(failure_timeout * 2, 2000ms))
    return join_step::visit_seeds;
  return join_step::none;
}

} // namespace troupe::cluster
