// SPDX-License-Identifier: Apache-2.0
// A bounded ring of timed points, the unit of the dashboard's history
// (history.hpp). Time is passed in, never read from a clock, so that the
// tests drive it on virtual time.
//
// Not thread-safe: its owner (history) locks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace troupe::dashboard {

/// Keeps at most `capacity` points of at most `window_ms` ago, oldest
/// first. Its memory is `capacity` points once the first one arrives, and
/// nothing before.
template <class T>
class ring {
public:
  struct point {
    int64_t ms;
    T value;
  };

  ring(size_t capacity, int64_t window_ms)
      : capacity_(capacity == 0 ? 1 : capacity)
      , window_ms_(window_ms) {}

  /// Appends a point at `ms`, dropping the oldest beyond the capacity and
  /// those older than `ms - window_ms`. A point not later than the newest
  /// is refused (false): the ring stays in time order.
  bool push(int64_t ms, T value) {
    if (size_ > 0 && ms <= newest_ms())
      return false;
    if (buf_.empty())
      buf_.reserve(capacity_);
    if (buf_.size() < capacity_) {
      buf_.push_back({ms, value});
      ++size_;
    } else if (size_ < capacity_) {
      buf_[(head_ + size_) % capacity_] = {ms, value};
      ++size_;
    } else {
      buf_[head_] = {ms, value};
      head_ = (head_ + 1) % capacity_;
    }
    evict(ms);
    return true;
  }

  /// Drops the points older than `now_ms - window_ms`.
  void evict(int64_t now_ms) {
    while (size_ > 0 && at(0).ms < now_ms - window_ms_) {
      head_ = (head_ + 1) % capacity_;
      --size_;
    }
  }

  size_t size() const noexcept {
    return size_;
  }

  bool empty() const noexcept {
    return size_ == 0;
  }

  /// The `i`th oldest point (`i < size()`).
  const point& at(size_t i) const {
    return buf_[(head_ + i) % capacity_];
  }

  /// Of the newest point; only when not empty.
  int64_t newest_ms() const {
    return at(size_ - 1).ms;
  }

  size_t capacity() const noexcept {
    return capacity_;
  }

  /// Bytes it holds on the heap.
  size_t heap_bytes() const noexcept {
    return buf_.capacity() * sizeof(point);
  }

private:
  std::vector<point> buf_;
  size_t head_ = 0; // index of the oldest point
  size_t size_ = 0;
  size_t capacity_;
  int64_t window_ms_;
};

} // namespace troupe::dashboard
