// SPDX-License-Identifier: Apache-2.0
// A bounded wait for a condition that another thread makes true, for tests
// that cannot wait on an event (a value published without a signal).
#pragma once

#include <chrono>
#include <thread>

namespace troupe::testkit {

/// True once `pred()` holds, false if it still does not after `limit`.
/// Looks every millisecond.
template <class Pred>
bool eventually(Pred pred,
                std::chrono::milliseconds limit = std::chrono::seconds{5}) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  return pred();
}

} // namespace troupe::testkit
