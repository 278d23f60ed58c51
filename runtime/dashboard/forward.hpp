// SPDX-License-Identifier: Apache-2.0
// An action on another member's actor, taken from this node's dashboard:
// forwarded to the member that owns the tree, as `troupe kill` would ask
// it from outside (its "troupe.introspect" service, with the cluster's
// secret), so that it runs the same checks and its supervisor decides.
#pragma once

#include <chrono>
#include <string>

#include <caf/expected.hpp>

#include "troupe/node/node.hpp"

namespace troupe::dashboard {

/// Makes actor `path` of member `member`'s trees fail, in `mode`, asking
/// that member. Errors: `errc::name_not_found` for a member that is not
/// known, `errc::node_down` for one that is not up, the member's own
/// error otherwise (an unknown path: `name_not_found`). Blocks up to about
/// twice `timeout` (worker thread).
caf::expected<wire::KillReply>
forward_kill(node& owner, const std::string& member, const std::string& path,
             node::fail_mode mode, std::chrono::milliseconds timeout);

} // namespace troupe::dashboard
