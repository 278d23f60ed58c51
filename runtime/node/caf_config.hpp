// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "actor/dead_letters.hpp"
#include "wire/config_base.hpp"

namespace troupe {
struct node_config;
} // namespace troupe

namespace troupe::detail {

/// The CAF configuration a node hands to its actor system: its Protobuf
/// types, the counts of the messages it lost, and its scheduler and
/// network settings (caf_config.cpp).
class node_caf_config : public wire::detail::config_base, public letter_book {
public:
  node_caf_config() = default;

  /// Registers the messages troupe's own services exchange (the daemon,
  /// flow control, introspection).
  void add_troupe_types();

  /// Scheduler, failure detection on the links, BASP, troupe's error
  /// category and the message size limit, from `cfg`.
  void apply(const node_config& cfg);
};

} // namespace troupe::detail
