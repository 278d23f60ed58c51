// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>

#include <caf/actor_system_config.hpp>
#include <caf/execution_unit.hpp>

#include "troupe/wire/type_registry.hpp"

namespace troupe::wire::detail {

/// The CAF config of a troupe node. It carries the node's Protobuf type
/// registry so that CAF's (de)serializers, which only see an
/// `execution_unit*`, can find it.
class config_base : public caf::actor_system_config {
public:
  type_registry types;

  /// Hands the registry's types to CAF: call once, after the last `add`,
  /// before the actor system starts.
  void install_types();
};

/// Returns the registry of the system that runs `ctx`, or null.
const type_registry* registry_of(caf::execution_unit* ctx) noexcept;

/// The CAF type name under which all Protobuf messages travel. The Protobuf
/// full name follows inside the payload, so that a receiver can name (and
/// refuse) a type it does not know instead of dropping the frame.
constexpr const char* proto_caf_name = "troupe.proto";

} // namespace troupe::wire::detail
