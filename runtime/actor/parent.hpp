// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>

#include <caf/actor.hpp>
#include <caf/atom.hpp>

#include "troupe/actor/mailbox_bound.hpp"

namespace troupe::detail {

/// Request of a supervised actor whose handler threw, to its supervisor:
/// (child_failed_atom, child address, what, message type).
/// The actor waits for the answer (CAF's `await`: its other messages stay
/// queued) and does what it says: `restart_atom` restarts it in place,
/// `stop_atom` (or an error) ends it with the failure.
using child_failed_atom = caf::atom_constant<caf::atom("childfail")>;

/// One-way message of a supervised actor whose handler threw and that
/// restarted in place under a restart permit its supervisor gave ahead:
/// (child_restarted_atom, child address, what, message type). The
/// supervisor counts the restart (if it has not already) and reports it.
using child_restarted_atom = caf::atom_constant<caf::atom("childrst")>;

/// A supervisor's order to a child that failed: restart in place.
using restart_atom = caf::atom_constant<caf::atom("trp_rip")>;

/// A supervisor's order to a child that failed: end with the failure.
using stop_atom = caf::atom_constant<caf::atom("trp_stop")>;

/// The supervisor that is starting a child on this thread right now. Actors
/// constructed meanwhile adopt it as their parent; spawning is synchronous,
/// so a child knows its parent before it handles its first message.
caf::actor& spawning_parent() noexcept;

/// The mailbox bound of the child spec being started on this thread, if
/// any: troupe actors constructed meanwhile without a bound of their own
/// take it, as they take the parent.
std::optional<mailbox_bound>& spawning_bound() noexcept;

/// The supervision path of the child being started on this thread (its
/// supervisor's path and its id), empty outside a supervisor's start: a
/// supervisor constructed meanwhile takes it as its own path.
std::string& spawning_path() noexcept;

/// Sets `spawning_parent()`, `spawning_bound()` and `spawning_path()` for
/// one scope.
class parent_scope {
public:
  explicit parent_scope(caf::actor parent,
                        std::optional<mailbox_bound> bound = std::nullopt,
                        std::string path = {})
    : prev_(spawning_parent()),
      prev_bound_(spawning_bound()),
      prev_path_(std::move(spawning_path())) {
    spawning_parent() = std::move(parent);
    spawning_bound() = bound;
    spawning_path() = std::move(path);
  }

  ~parent_scope() {
    spawning_parent() = std::move(prev_);
    spawning_bound() = prev_bound_;
    spawning_path() = std::move(prev_path_);
  }

  parent_scope(const parent_scope&) = delete;
  parent_scope& operator=(const parent_scope&) = delete;

private:
  caf::actor prev_;
  std::optional<mailbox_bound> prev_bound_;
  std::string prev_path_;
};

} // namespace troupe::detail
