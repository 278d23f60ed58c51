// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>

namespace troupe::wire {

/// Process-wide counts of the wire layer's work, read with relaxed loads.
///
/// They move only when a Protobuf message is encoded for or decoded from
/// another node, so in-process traffic leaves them untouched.
struct stats {
  uint64_t encoded = 0;  ///< messages encoded for another node
  uint64_t decoded = 0;  ///< messages decoded from another node
  uint64_t rejected = 0; ///< messages refused (sent or received)
};

/// Returns a snapshot of the counters.
stats read_stats() noexcept;

} // namespace troupe::wire
