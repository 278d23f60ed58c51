#pragma once

#include <caf/actor.hpp>
#include <caf/atom.hpp>

namespace troupe::detail {

/// Sent by a supervised actor to its supervisor after it restarted itself in
/// place: (child_failed_atom, child address, what, message type).
using child_failed_atom = caf::atom_constant<caf::atom("childfail")>;

/// The supervisor that is starting a child on this thread right now. Actors
/// constructed meanwhile adopt it as their parent; spawning is synchronous,
/// so a child knows its parent before it handles its first message.
caf::actor& spawning_parent() noexcept;

/// Sets `spawning_parent()` for one scope.
class parent_scope {
public:
  explicit parent_scope(caf::actor parent) : prev_(spawning_parent()) {
    spawning_parent() = std::move(parent);
  }

  ~parent_scope() {
    spawning_parent() = std::move(prev_);
  }

  parent_scope(const parent_scope&) = delete;
  parent_scope& operator=(const parent_scope&) = delete;

private:
  caf::actor prev_;
};

} // namespace troupe::detail
