#pragma once

#include "actor/dead_letters.hpp"
#include "wire/config_base.hpp"

namespace troupe::detail {

/// The CAF configuration a node hands to its actor system: its Protobuf
/// types, and the counts of the messages it lost.
class node_caf_config : public wire::detail::config_base, public letter_book {
public:
  node_caf_config() = default;
};

} // namespace troupe::detail
