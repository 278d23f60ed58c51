// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>

#include "troupe/actor/mailbox_bound.hpp"

namespace troupe {

/// When a child is restarted (Erlang/OTP's restart types).
enum class restart_type {
  /// Always restarted.
  permanent,
  /// Restarted only after a failure, not after a normal exit or shutdown.
  transient,
  /// Never restarted.
  temporary,
};

/// Whether a child is a worker or a supervisor of its own children.
enum class child_kind { worker, supervisor };

/// What a child's failure does to its siblings.
enum class strategy {
  /// Only the failed child restarts.
  one_for_one,
  /// Every child restarts, in start order.
  one_for_all,
  /// The failed child and the children started after it restart, in order.
  rest_for_one,
};

/// How to start, restart and stop one child of a supervisor.
struct child_spec {
  /// Unique among the supervisor's children.
  std::string id;
  /// Spawns the child; called again to respawn it after it died.
  std::function<caf::actor(caf::actor_system&)> start;
  restart_type restart = restart_type::permanent;
  /// Time a stopping child gets before it is killed; zero kills at once
  /// (OTP's `brutal_kill`).
  std::chrono::milliseconds shutdown{5000};
  child_kind kind = child_kind::worker;
  /// Bounds the mailbox of the troupe actors `start` spawns in this process
  /// without a bound of their own (unbounded by default). A supervisor
  /// child ignores it, and it does not travel to other nodes.
  troupe::mailbox_bound mailbox{};
  /// OTP 24's significant child: when it ends for good (a transient child
  /// that ended normally, a temporary one that ended at all), the
  /// supervisor's `auto_shutdown` may stop the supervisor. Only transient
  /// and temporary children can be significant, and only under an
  /// `auto_shutdown` other than `never` (see `check_child_specs`).
  bool significant = false;
  /// A cluster-wide name bound to the child on every start and restart,
  /// local or remote (empty: none). Needs a node in the process; without
  /// one it is ignored with a warning.
  std::string global_name;
};

/// Delays between respawns of a child that keeps dying: `min`, then times
/// `factor` each time up to `max`, each stretched by a random share of up to
/// `jitter` (0.2 = up to 20% longer) so that many children do not come back
/// in lockstep. The count starts over once the child stayed up for
/// `reset_after`. Restarts in place are never delayed: the child's mailbox
/// keeps flowing.
struct backoff {
  std::chrono::milliseconds min{100};
  std::chrono::milliseconds max{10000};
  double factor = 2.0;
  double jitter = 0.2;
  std::chrono::milliseconds reset_after{30000};
};

} // namespace troupe

// A child spec travels only inside a process (start_child_atom).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::child_spec)

namespace troupe {

/// When a supervisor stops itself because significant children ended
/// (OTP 24's `auto_shutdown`).
enum class auto_shutdown {
  /// Never; significant children are not allowed.
  never,
  /// As soon as any significant child ended for good.
  any_significant,
  /// Once every significant child ended for good.
  all_significant,
};

/// A supervisor's strategy and restart intensity.
///
/// More than `max_restarts` restarts within `period` make the supervisor
/// stop its children and fail, so that its own supervisor deals with it.
/// Defaults are Elixir's (3 in 5 s): enough to ride out a transient fault,
/// few enough that a crash loop escalates within seconds.
struct supervisor_flags {
  troupe::strategy strategy = strategy::one_for_one;
  size_t max_restarts = 3;
  std::chrono::milliseconds period{5000};
  /// Off unless set: respawn at once.
  std::optional<troupe::backoff> backoff;
  /// OTP 24's automatic shutdown on significant children (off by default).
  troupe::auto_shutdown auto_shutdown = auto_shutdown::never;
  /// The supervisor's path in crash reports when it is nobody's child
  /// (`"/root"` for a node's root); a child supervisor's path is its
  /// parent's path and its id. Empty: `"/sup-<actor id>"`.
  std::string path;
};

} // namespace troupe
