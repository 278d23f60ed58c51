// SPDX-License-Identifier: Apache-2.0
#include "supervision/failure_history.hpp"

#include <fmt/format.h>

namespace troupe::supervision {

void failure_history::add(time_point when, const std::string& failure) {
  if (ring_.size() < capacity)
    ring_.emplace_back();
  auto& e = ring_[next_];
  e.when = when;
  e.failure.assign(failure); // keeps the slot's buffer
  e.decision = failure_decision::pending;
  e.delay_ms = 0;
  e.counted = true;
  next_ = (next_ + 1) % capacity;
  if (size_ < capacity)
    ++size_;
}

void failure_history::decide(failure_decision what,
                             std::chrono::milliseconds delay, bool counted) {
  if (size_ == 0)
    return;
  auto& e = ring_[(next_ + capacity - 1) % capacity];
  e.decision = what;
  e.delay_ms = delay.count();
  e.counted = counted;
}

std::vector<failure_record> failure_history::records() const {
  std::vector<failure_record> out;
  out.reserve(size_);
  for (size_t i = 0; i < size_; ++i) {
    auto& e = ring_[(next_ + capacity - size_ + i) % capacity];
    failure_record r;
    r.time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  e.when.time_since_epoch())
                  .count();
    r.failure = e.failure;
    r.decision = word(e.decision, e.delay_ms, e.counted);
    out.emplace_back(std::move(r));
  }
  return out;
}

std::string word(failure_decision what, int64_t delay_ms, bool counted) {
  std::string out;
  switch (what) {
    case failure_decision::pending:
      return "deciding";
    case failure_decision::restart_in_place:
      out = "restart in place";
      break;
    case failure_decision::respawn:
      out = "respawn from its spec";
      break;
    case failure_decision::move:
      out = "move to a live node";
      break;
    case failure_decision::try_again:
      out = "start again";
      break;
    case failure_decision::gave_up:
      return "give up: more restarts than the intensity allows";
  }
  if (delay_ms > 0)
    out += fmt::format(" in {} ms", delay_ms);
  if (!counted)
    out += " (not counted)";
  return out;
}

} // namespace troupe::supervision
