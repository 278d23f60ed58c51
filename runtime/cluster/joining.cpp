// SPDX-License-Identifier: Apache-2.0
#include "cluster/joining.hpp"

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
  return caf::none;
}

} // namespace troupe::cluster
