// SPDX-License-Identifier: Apache-2.0
// Message types a bounded mailbox always takes (actor/mailbox.cpp), beside
// CAF's system messages and troupe's control atoms: events of higher
// layers that an actor subscribed to (the cluster's member and name
// events). Those layers register them, so that this one includes none.
#pragma once

#include <typeinfo>

namespace troupe::detail {

/// Registers `type`; at most a handful. Idempotent and thread-safe; call it
/// when the registering layer starts (not from a static initializer of
/// another file: their order is unspecified).
void exempt_from_bound(const std::type_info& type) noexcept;

/// Whether `type` was registered.
bool exempt_from_bound_p(const std::type_info& type) noexcept;

} // namespace troupe::detail
