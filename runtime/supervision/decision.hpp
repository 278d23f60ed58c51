// SPDX-License-Identifier: Apache-2.0
// The supervisor's decisions as pure functions of a child, a reason and a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/error.hpp>
#include <caf/node_id.hpp>
#include <caf/timespan.hpp>

#include "troupe/supervision/child_spec.hpp"

namespace troupe::supervision {

using time_point = caf::actor_clock::time_point;

/// Why a child stopped, as far as the supervisor's rules care.
enum class exit_cause {
  /// Ended by itself without an error, or was asked to stop (OTP's
  /// `normal` and `shutdown`).
  normal,
  /// A handler threw, or it exited with any other error (also a kill).
  failure,
  /// Its node was lost: crashed, frozen, cut off, or fenced.
  node_lost,
  /// Its node left the cluster on purpose (a graceful shutdown).
  node_left,
  /// A newer incarnation of this persistent child took its writer epoch
  /// (`errc::writer_fenced`): it lives on elsewhere, so this one is not
  /// restarted (that would fence the newer one in turn) and does not count.
  superseded,
};

/// Classifies a down message's reason.
exit_cause classify(const caf::error& reason) noexcept;

/// What the supervisor does with a child that stopped.
enum class verdict {
  /// Start it again (in place after a throw, from its spec after an exit).
  restart,
  /// Keep its spec, not running (OTP: a transient child that ended normally).
  keep_down,
  /// Forget it (OTP: a temporary child, whatever the reason).
  forget,
};

/// OTP's restart types, plus: a child whose node is lost or left is moved
/// unless it is temporary (it did not fail, its node did); a superseded
/// child is kept down (forgotten if temporary).
verdict after_stop(restart_type type, exit_cause cause) noexcept;

/// Whether a stop counts towards the restart intensity. A node that left
/// never counts; a lost node counts once, for the first of its children the
/// supervisor hears about (`first_of_its_node`), so that losing a node that
/// hosted more children than `max_restarts` is one event, not a crash loop.
bool counts(exit_cause cause, bool first_of_its_node) noexcept;

/// OTP's restart intensity: at most `max` restarts within any `period`.
class restart_intensity {
public:
  restart_intensity() : restart_intensity(3, std::chrono::seconds{5}) {
  }

  restart_intensity(size_t max, caf::timespan period)
    : max_(max), period_(period) {
  }

  /// Records a restart at `now`; false when it makes more than `max` within
  /// the period (the supervisor must give up instead of restarting).
  bool admit(time_point now);

  /// Restarts within the period that ended at the last `admit`.
  size_t recent() const noexcept {
    return recent_.size();
  }

  /// How many more restarts, each at `now` or later, would all be
  /// admitted (if nothing else is admitted before them).
  size_t room(time_point now) const noexcept;

private:
  size_t max_;
  caf::timespan period_;
  std::deque<time_point> recent_;
};

/// Remembers which lost nodes were already counted, for `counts`.
class node_losses {
public:
  /// True the first time `node` is reported (within `keep` of the last
  /// report of any node: older entries are forgotten).
  bool first(const caf::node_id& node, time_point now, caf::timespan keep);

private:
  std::vector<std::pair<caf::node_id, time_point>> seen_;
};

/// The delay before respawn number `step` (0-based) of a child:
/// `min * factor^step`, at most `max`, stretched by `share` of `jitter`
/// (`share` in [0, 1), drawn by the caller).
caf::timespan backoff_delay(const backoff& b, uint32_t step, double share);

/// Whether a child that stayed up for `uptime` starts its backoff over.
bool backoff_resets(const backoff& b, caf::timespan uptime) noexcept;

/// OTP 24's automatic shutdown, asked after a significant child ended for
/// good: `still_running` significant children are left.
bool auto_shutdown_due(troupe::auto_shutdown mode,
                       size_t still_running) noexcept;

/// Rate limit for crash reports, per process: a bucket of `burst` lines
/// refilled by one every `refill`. A crash loop writes at most `burst` lines
/// at once and then one per `refill`, plus one summary of what it dropped.
class report_budget {
public:
  report_budget(size_t burst, caf::timespan refill)
    : burst_(burst), refill_(refill), tokens_(burst) {
  }

  /// True: write this report (after `take_suppressed` lines, if any, were
  /// dropped since the last one written).
  bool take(time_point now);

  /// Reports dropped since the last written one; resets the count.
  uint64_t take_suppressed() noexcept {
    auto n = suppressed_;
    suppressed_ = 0;
    return n;
  }

private:
  size_t burst_;
  caf::timespan refill_;
  size_t tokens_;
  time_point last_{};
  bool started_ = false;
  uint64_t suppressed_ = 0;
};

/// OTP's `check_childspecs`: unique non-empty ids, a start function, and
/// significant children only where they can end for good (transient or
/// temporary) under an `auto_shutdown` other than `never`. An empty error
/// when all are fine, else `errc::bad_config` naming the first bad spec.
caf::error check_child_specs(const std::vector<child_spec>& specs,
                             troupe::auto_shutdown mode);

/// One format for a child's last failure, whatever caused it:
/// `"<cause>: <text>"`, such as `"handler_failed: bad value on int32"` or
/// `"node_lost: remote_link_unreachable"`.
std::string failure_text(const caf::error& reason);

} // namespace troupe::supervision
