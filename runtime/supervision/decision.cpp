// SPDX-License-Identifier: Apache-2.0
// The supervisor's decisions: pure functions, unit-tested on virtual time.
#include "supervision/decision.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include <caf/exit_reason.hpp>
#include <fmt/format.h>

#include "troupe/error.hpp"

namespace troupe::supervision {

exit_cause classify(const caf::error& reason) noexcept {
  if (!reason || reason == caf::exit_reason::normal
      || reason == caf::exit_reason::user_shutdown)
    return exit_cause::normal;
  if (reason == caf::exit_reason::remote_link_unreachable
      || is(reason, errc::node_down) || is(reason, errc::fenced))
    return exit_cause::node_lost;
  if (is(reason, errc::node_left))
    return exit_cause::node_left;
  if (is(reason, errc::writer_fenced))
    return exit_cause::superseded;
  return exit_cause::failure;
}

verdict after_stop(restart_type type, exit_cause cause) noexcept {
  if (type != restart_type::temporary && cause == exit_cause::superseded)
    return verdict::keep_down;
  switch (type) {
    case restart_type::temporary:
      return verdict::forget;
    case restart_type::transient:
      return cause == exit_cause::normal ? verdict::keep_down
                                         : verdict::restart;
    case restart_type::permanent:
      break;
  }
  return verdict::restart;
}

bool counts(exit_cause cause, bool first_of_its_node) noexcept {
  switch (cause) {
    case exit_cause::node_left:
    case exit_cause::superseded:
      return false;
    case exit_cause::node_lost:
      return first_of_its_node;
    default:
      return true;
  }
}

bool restart_intensity::admit(time_point now) {
  recent_.push_back(now);
  while (!recent_.empty()
         && (now - recent_.front() > period_ || recent_.size() > max_ + 1))
    recent_.pop_front();
  return recent_.size() <= max_;
}

size_t restart_intensity::room(time_point now) const noexcept {
  // As `admit` counts: the restarts within the period that ends at `now`
  // (later restarts see no more of them), plus the new ones.
  size_t within = 0;
  for (auto i = recent_.rbegin(); i != recent_.rend() && now - *i <= period_;
       ++i)
    ++within;
  return within < max_ ? max_ - within : 0;
}

bool node_losses::first(const caf::node_id& node, time_point now,
                        caf::timespan keep) {
  seen_.erase(std::remove_if(seen_.begin(), seen_.end(),
                             [&](auto& x) { return now - x.second > keep; }),
              seen_.end());
  for (auto& x : seen_)
    if (x.first == node) {
      x.second = now;
      return false;
    }
  seen_.emplace_back(node, now);
  return true;
}

caf::timespan backoff_delay(const backoff& b, uint32_t step, double share) {
  double delay = static_cast<double>(b.min.count());
  auto max = static_cast<double>(b.max.count());
  for (uint32_t i = 0; i < step && delay < max; ++i)
    delay *= b.factor;
  delay = std::min(delay, max);
  if (b.jitter > 0)
    delay *= 1.0 + std::clamp(share, 0.0, 1.0) * b.jitter;
  return std::chrono::duration_cast<caf::timespan>(
    std::chrono::duration<double, std::milli>{delay});
}

bool backoff_resets(const backoff& b, caf::timespan uptime) noexcept {
  return uptime >= b.reset_after;
}

bool auto_shutdown_due(troupe::auto_shutdown mode,
                       size_t still_running) noexcept {
  switch (mode) {
    case auto_shutdown::never:
      return false;
    case auto_shutdown::any_significant:
      return true;
    case auto_shutdown::all_significant:
      return still_running == 0;
  }
  return false;
}

bool report_budget::take(time_point now) {
  if (!started_ || now < last_) {
    started_ = true;
    last_ = now;
  }
  if (refill_.count() > 0 && tokens_ < burst_) {
    auto earned = static_cast<size_t>((now - last_) / refill_);
    if (earned > 0) {
      tokens_ = std::min(burst_, tokens_ + earned);
      last_ += earned * refill_;
    }
  } else if (tokens_ >= burst_) {
    last_ = now;
  }
  if (tokens_ == 0) {
    ++suppressed_;
    return false;
  }
  --tokens_;
  return true;
}

caf::error check_child_specs(const std::vector<child_spec>& specs,
                             troupe::auto_shutdown mode) {
  std::set<std::string> ids;
  for (size_t i = 0; i < specs.size(); ++i) {
    auto& s = specs[i];
    auto bad = [&](const std::string& why) {
      return make_error(errc::bad_config,
                        fmt::format("child spec #{} ('{}'): {}", i + 1, s.id,
                                    why));
    };
    if (s.id.empty())
      return bad("empty id");
    if (!ids.insert(s.id).second)
      return bad("duplicate id");
    if (!s.start)
      return bad("no start function");
    if (s.shutdown.count() < 0)
      return bad("negative shutdown time");
    if (s.significant && s.restart == restart_type::permanent)
      return bad("a permanent child cannot be significant (it never ends "
                 "for good)");
    if (s.significant && mode == auto_shutdown::never)
      return bad("significant child under auto_shutdown 'never'");
  }
  return {};
}

std::string failure_text(const caf::error& reason) {
  auto cause = classify(reason);
  auto text = describe(reason);
  switch (cause) {
    case exit_cause::node_lost:
      if (reason == caf::exit_reason::remote_link_unreachable)
        return "node_lost: " + text;
      return text; // "node_down: ..." or "fenced: ..."
    default:
      return text;
  }
}

} // namespace troupe::supervision
