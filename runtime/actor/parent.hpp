#pragma once

#include <optional>

#include <caf/actor.hpp>
#include <caf/atom.hpp>

#include "troupe/actor/mailbox_bound.hpp"

namespace troupe::detail {

/// Sent by a supervised actor to its supervisor after it restarted itself in
/// place: (child_failed_atom, child address, what, message type).
using child_failed_atom = caf::atom_constant<caf::atom("childfail")>;

/// The supervisor that is starting a child on this thread right now. Actors
/// constructed meanwhile adopt it as their parent; spawning is synchronous,
/// so a child knows its parent before it handles its first message.
caf::actor& spawning_parent() noexcept;

/// The mailbox bound of the child spec being started on this thread, if
/// any: troupe actors constructed meanwhile without a bound of their own
/// take it, as they take the parent.
std::optional<mailbox_bound>& spawning_bound() noexcept;

/// Sets `spawning_parent()` and `spawning_bound()` for one scope.
class parent_scope {
public:
  explicit parent_scope(caf::actor parent,
                        std::optional<mailbox_bound> bound = std::nullopt)
    : prev_(spawning_parent()), prev_bound_(spawning_bound()) {
    spawning_parent() = std::move(parent);
    spawning_bound() = bound;
  }

  ~parent_scope() {
    spawning_parent() = std::move(prev_);
    spawning_bound() = prev_bound_;
  }

  parent_scope(const parent_scope&) = delete;
  parent_scope& operator=(const parent_scope&) = delete;

private:
  caf::actor prev_;
  std::optional<mailbox_bound> prev_bound_;
};

} // namespace troupe::detail
