// SPDX-License-Identifier: Apache-2.0
// The simulator's network and clock: events on virtual time in a timing
// wheel of 1 ms slots (O(1) per message, so ten idle minutes of a
// thousand nodes take seconds), latency, loss and partitions.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace troupe::sim {

/// Microseconds of virtual time.
using micros = int64_t;

struct network_settings {
  /// Every message takes `base` plus an exponential with mean `jitter`.
  micros latency_base = 300;
  micros latency_jitter = 700;
  /// The share of messages lost (0.01 is 1%).
  double loss = 0.0;
};

/// Events of type `Event` on virtual time. Within one 1 ms slot, events run
/// in the order they were scheduled.
template <class Event>
class event_wheel {
public:
  explicit event_wheel(size_t slots = 8192)
      : slots_(slots) {}

  void at(micros t, Event e) {
    if (t < now_)
      t = now_;
    slots_[(t / 1000) % slots_.size()].emplace_back(t, std::move(e));
    ++pending_;
  }

  micros now() const noexcept {
    return now_;
  }

  /// Runs every event up to `until` through `f(micros, Event&)`.
  template <class F>
  void run_until(micros until, F&& f) {
    while (now_ / 1000 <= until / 1000) {
      auto& slot = slots_[(now_ / 1000) % slots_.size()];
      // Events scheduled into this slot while it runs are run too.
      for (size_t i = 0; i < slot.size(); ++i) {
        auto [t, e] = std::move(slot[i]);
        if (t / 1000 != now_ / 1000) { // a later lap of the wheel
          later_.emplace_back(t, std::move(e));
          continue;
        }
        now_ = std::max(now_, t);
        --pending_;
        f(t, e);
      }
      slot.clear();
      for (auto& x : later_)
        slot.emplace_back(std::move(x));
      later_.clear();
      now_ = (now_ / 1000 + 1) * 1000;
    }
  }

private:
  std::vector<std::vector<std::pair<micros, Event>>> slots_;
  std::vector<std::pair<micros, Event>> later_;
  micros now_ = 0;
  size_t pending_ = 0;
};

/// Latency, loss and partitions between nodes numbered 0..n-1.
class network {
public:
  network(size_t n, network_settings cfg, uint64_t seed)
      : cfg_(cfg)
      , side_(n, 0)
      , rng_(seed) {}

  /// When a message sent at `now` from `from` to `to` arrives, or -1 if it
  /// is lost or the two are cut apart.
  micros deliver_at(size_t from, size_t to, micros now) {
    if (side_[from] != side_[to])
      return -1;
    if (cfg_.loss > 0 && unit_(rng_) < cfg_.loss)
      return -1;
    auto u = unit_(rng_);
    auto jitter = -std::log(1.0 - u) * static_cast<double>(cfg_.latency_jitter);
    return now + cfg_.latency_base + static_cast<micros>(jitter);
  }

  /// Puts node `i` on side `s` (nodes on different sides cannot talk).
  void side(size_t i, int s) {
    if (i >= side_.size())
      side_.resize(i + 1, 0);
    side_[i] = s;
  }

  void heal() {
    std::fill(side_.begin(), side_.end(), 0);
  }

  std::mt19937_64& rng() noexcept {
    return rng_;
  }

  network_settings& settings() noexcept {
    return cfg_;
  }

private:
  network_settings cfg_;
  std::vector<int> side_;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> unit_{0.0, 1.0};
};

} // namespace troupe::sim
