#pragma once

#include "wire/config_base.hpp"

namespace troupe::detail {

/// The CAF configuration a node hands to its actor system.
class node_caf_config : public wire::detail::config_base {
public:
  node_caf_config() = default;
};

} // namespace troupe::detail
