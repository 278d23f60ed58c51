// SPDX-License-Identifier: Apache-2.0
// What troupe::testkit reaches inside a node: its network cuts.
#pragma once

#include <memory>

#include "cluster/core.hpp"
#include "transport/cuts.hpp"
#include "transport/endpoint.hpp"
#include "troupe/node/node.hpp"

namespace troupe::detail {

/// Private parts of `troupe::node` for the test kit (runtime/testkit/), which is
/// built in this tree; never installed.
struct node_access {
  /// The node's network cuts (transport/cuts.hpp); null unless it runs.
  static std::shared_ptr<transport::net_cuts> cuts(node& n) {
    if (!n.running() || !n.core_ || !n.core_->net)
      return nullptr;
    return n.core_->net->cuts();
  }
};

} // namespace troupe::detail
