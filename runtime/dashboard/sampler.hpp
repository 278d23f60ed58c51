// SPDX-License-Identifier: Apache-2.0
// Takes the cluster's snapshot on the server's worker thread, at most once
// a period while someone views, records it in the hub's event log (which
// turns it into a delta) and its history, and has the I/O thread push what
// changed. Without viewers it only keeps the history going, one snapshot
// every `history_period` (none when that is 0).
#pragma once

#include <chrono>
#include <memory>

#include <boost/asio/steady_timer.hpp>

#include "dashboard/hub.hpp"

namespace troupe::dashboard {

class sampler {
public:
  /// Runs on `h.worker`.
  explicit sampler(std::shared_ptr<hub> h);

  /// A view opened (any thread): samples now if the last sample is older
  /// than a period, else when the period ends.
  void kick();

  /// Starts the history's idle sampling (any thread).
  void start();

  /// Cancels the timer (worker thread, or after it stopped).
  void cancel();

private:
  void arm(std::chrono::steady_clock::time_point at);
  void sample();

  std::shared_ptr<hub> hub_;
  boost::asio::steady_timer timer_;
  // Worker thread only: whether a wait is pending, until when, and which
  // (a cancelled wait's handler must not touch the next one's state).
  bool armed_ = false;
  std::chrono::steady_clock::time_point armed_at_{};
  uint64_t generation_ = 0;
  std::chrono::steady_clock::time_point last_{};
};

} // namespace troupe::dashboard
