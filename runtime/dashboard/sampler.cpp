// SPDX-License-Identifier: Apache-2.0
#include "dashboard/sampler.hpp"

#include <boost/asio/post.hpp>

#include "dashboard/state.hpp"
#include "troupe/log.hpp"
#include "troupe/node/introspection.hpp"

namespace troupe::dashboard {

sampler::sampler(std::shared_ptr<hub> h)
  : hub_(std::move(h)), timer_(hub_->worker) {
}

void sampler::kick() {
  boost::asio::post(hub_->worker, [this] {
    auto at = last_ + hub_->cfg.sample_period;
    if (armed_ && armed_at_ <= at)
      return; // the running cycle picks the new view up
    arm(at); // sooner than the history's idle cycle
  });
}

void sampler::start() {
  if (hub_->cfg.history_period.count() <= 0)
    return;
  boost::asio::post(hub_->worker, [this] {
    if (!armed_)
      arm(std::chrono::steady_clock::now() + hub_->cfg.history_period);
  });
}

void sampler::cancel() {
  timer_.cancel();
  armed_ = false;
  ++generation_;
}

void sampler::arm(std::chrono::steady_clock::time_point at) {
  armed_ = true;
  armed_at_ = at;
  auto gen = ++generation_;
  timer_.expires_at(at); // cancels a pending wait
  timer_.async_wait([this, gen](const boost::system::error_code& ec) {
    if (ec || gen != generation_)
      return;
    armed_ = false;
    sample();
  });
}

void sampler::sample() {
  auto& h = *hub_;
  auto viewed = h.viewers.load() > 0;
  if (!viewed && h.cfg.history_period.count() <= 0)
    return; // the last view closed: stop until the next one opens
  last_ = std::chrono::steady_clock::now();
  // A stopping node's trees are going away: the views keep the last state
  // (and /readyz says 503) until the server stops.
  if (h.owner.running()) {
    try {
      auto snap = h.owner.snapshot_cluster(h.cfg.snapshot_timeout);
      auto unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
      h.past.record(unix_ms, snap);
      if (!viewed) {
        ++h.history_samples;
      } else {
        ++h.samples;
        if (h.log.record(to_state(snap, false), unix_ms))
          boost::asio::post(h.io, [w = std::weak_ptr<hub>(hub_)] {
            if (auto hp = w.lock())
              hp->broadcast();
          });
      }
    } catch (const std::exception& e) {
      log(log_level::warn,
          std::string{"dashboard: cannot take a snapshot: "} + e.what());
    }
  }
  arm(last_ + (viewed ? h.cfg.sample_period : h.cfg.history_period));
}

} // namespace troupe::dashboard
