// SPDX-License-Identifier: Apache-2.0
// The configuration of an in-process test node: a name, 127.0.0.1 with an
// OS-chosen port (node_config's defaults) and a quiet log.
#pragma once

#include <string>

#include "troupe/node/node_config.hpp"

namespace troupe::test {

inline troupe::node_config
named_config(std::string name,
             troupe::log_level level = troupe::log_level::warn) {
  troupe::node_config cfg;
  cfg.name = std::move(name);
  cfg.log = level;
  return cfg;
}

} // namespace troupe::test
