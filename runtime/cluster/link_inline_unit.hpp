// SPDX-License-Identifier: Apache-2.0
#pragma once

// How a direct link's reader thread runs the actor a frame wakes: at once,
// in that thread, instead of handing it to CAF's scheduler (one thread hop
// fewer per message; see link.hpp).

#include <caf/actor_system.hpp>
#include <caf/proxy_registry.hpp>

#include "actor/inline_run.hpp"

namespace troupe::cluster {

/// Runs the actor a reader thread's frame wakes in that thread
/// (troupe::detail::inline_unit), only while that thread delivers
/// (`delivering`): a journal's thread delivering a response promise for an
/// actor last run here sends to the scheduler. Carries the link's proxy
/// registry, which CAF's deserialization of actor handles looks up through
/// the execution unit.
class link_inline_unit final : public troupe::detail::inline_unit {
public:
  /// Marks the calling thread as delivering for the unit.
  using delivering = scope;

  link_inline_unit(caf::actor_system* sys, caf::proxy_registry* proxies)
    : inline_unit(sys) {
    proxies_ = proxies;
  }
};

} // namespace troupe::cluster
