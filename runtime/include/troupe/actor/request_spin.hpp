// SPDX-License-Identifier: Apache-2.0
// The default of how long a requester polls for its answer before it
// sleeps, shared by the node's setting and a bare CAF system's fallback.
#pragma once

#include <chrono>

namespace troupe {

/// The most a requesting thread polls for its answer by default
/// (`node_config::request_spin`; 200 us: see docs/benchmarks.md, issue 20).
inline constexpr std::chrono::microseconds default_request_spin{200};

} // namespace troupe
