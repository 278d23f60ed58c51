// SPDX-License-Identifier: Apache-2.0
// The Protobuf messages troupe's own services exchange (the daemon, flow
// control, introspection): one list, which a node registers
// (node/caf_config.cpp) and the fuzzers decode with (tests/fuzz/).
#pragma once

#include "troupe/wire/type_registry.hpp"

namespace troupe::wire::detail {

/// Adds every message of troupe.wire's node, cluster and introspection
/// protocols to `types`.
void add_troupe_types(type_registry& types);

} // namespace troupe::wire::detail
