// SPDX-License-Identifier: Apache-2.0
// Whether a node may join: a pure function of the joiner's claims and this
// node's settings (tests/runtime/cluster/joining_test.cpp). The daemon
// answers a refused join with the error's text.
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>

#include "troupe/cluster/cluster.hpp"

namespace troupe::cluster {

/// What a joiner says of itself in its `Join`.
struct joiner_claims {
  std::string name;
  int64_t heartbeat_ms = 0;
  int64_t failure_timeout_ms = 0;
};

/// `errc::bad_config` when the joiner has this node's name, or when either
/// side's heartbeats would not come well within the other's failure
/// timeout (at most half of it: otherwise healthy idle links get dropped,
/// and CAF 0.17 checks only its own side); none otherwise.
caf::error check_joiner(const std::string& self_name,
                        const failure_detector_settings& mine,
                        const joiner_claims& joiner);

} // namespace troupe::cluster
