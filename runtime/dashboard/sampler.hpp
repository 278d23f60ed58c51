// SPDX-License-Identifier: Apache-2.0
// Takes the cluster's snapshot on the server's worker thread, at most once
// a period and only while someone views, records it in the hub's event
// log (which turns it into a delta), and has the I/O thread push what
// changed. Idle costs nothing: no timer runs without viewers.
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

  /// Cancels the timer (worker thread, or after it stopped).
  void cancel();

private:
  void arm(std::chrono::steady_clock::time_point at);
  void sample();

  std::shared_ptr<hub> hub_;
  boost::asio::steady_timer timer_;
  bool armed_ = false; // worker thread only
  std::chrono::steady_clock::time_point last_{};
};

} // namespace troupe::dashboard
