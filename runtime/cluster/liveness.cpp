// SPDX-License-Identifier: Apache-2.0
// The liveness thread: heartbeats and the stall clock, off CAF's scheduler.
#include "cluster/liveness.hpp"

#include <pthread.h>

#include <caf/actor_cast.hpp>
#include <caf/message_id.hpp>

namespace troupe::cluster {

std::optional<stall_clock::clock::duration>
stall_clock::wake(clock::time_point now) {
  auto prev = std::exchange(last_, now);
  if (!prev || now - *prev <= limit_)
    return std::nullopt;
  return now - *prev;
}

bool went_silent(std::chrono::steady_clock::time_point last_heard,
                 std::chrono::steady_clock::time_point dropped_at,
                 std::chrono::steady_clock::duration failure_timeout) {
  return dropped_at - last_heard >= failure_timeout / 2;
}

liveness::liveness(std::chrono::milliseconds heartbeat_interval,
                   std::chrono::milliseconds failure_timeout)
  : interval_(heartbeat_interval), clock_(failure_timeout) {
}

liveness::~liveness() {
  stop();
}

void liveness::start(caf::weak_actor_ptr sender) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (thread_.joinable() || stopping_)
    return;
  sender_ = std::move(sender);
  thread_ = std::thread{[this] { run(); }};
}

void liveness::stop() {
  std::thread t;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
    t = std::move(thread_);
  }
  cv_.notify_all();
  if (t.joinable() && t.get_id() != std::this_thread::get_id())
    t.join();
  else if (t.joinable())
    t.detach();
  std::lock_guard<std::mutex> guard{mtx_};
  hb_ = caf::message{};
  answer_ = caf::message{};
  to_.clear();
  sender_.reset();
}

void liveness::set_heartbeat(caf::message hb, std::vector<caf::actor> to) {
  std::lock_guard<std::mutex> sending{send_mtx_};
  std::lock_guard<std::mutex> guard{mtx_};
  if (stopping_)
    return;
  hb_ = std::move(hb);
  to_ = std::move(to);
}

void liveness::set_answer(caf::message answer) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!stopping_)
    answer_ = std::move(answer);
}

caf::message liveness::answer() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return answer_;
}

std::optional<liveness::clock::duration> liveness::take_stall() {
  std::lock_guard<std::mutex> guard{mtx_};
  // The caller's look at the clock counts as a wake-up: after a SIGCONT the
  // daemon may run before this thread has woken and seen the gap.
  if (auto gap = clock_.wake(clock::now()))
    stall_ = std::max(stall_.value_or(clock::duration::zero()), *gap);
  return std::exchange(stall_, std::nullopt);
}

void liveness::heard(const std::string& name, uint64_t incarnation,
                     clock::time_point at) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& x = heard_[name];
  if (incarnation > x.first || (incarnation == x.first && at > x.second))
    x = {incarnation, at};
}

std::optional<liveness::clock::time_point>
liveness::last_heard(const std::string& name, uint64_t incarnation) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = heard_.find(name);
  if (i == heard_.end() || i->second.first != incarnation)
    return std::nullopt;
  return i->second.second;
}

void liveness::forget(const std::string& name) {
  std::lock_guard<std::mutex> guard{mtx_};
  heard_.erase(name);
}

void liveness::down_arrived(const caf::actor_addr& source,
                            clock::time_point at) {
  std::lock_guard<std::mutex> guard{mtx_};
  downs_.emplace(source, at);
}

std::optional<liveness::clock::time_point>
liveness::take_down(const caf::actor_addr& source) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = downs_.find(source);
  if (i == downs_.end())
    return std::nullopt;
  auto at = i->second;
  downs_.erase(i);
  return at;
}

uint64_t liveness::rounds() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return rounds_;
}

void liveness::run() {
  pthread_setname_np(pthread_self(), "troupe.liveness");
  auto next = clock::now();
  for (;;) {
    {
      // Holding send_mtx_ while sending: once set_heartbeat returned, no
      // heartbeat of the incarnation it replaced is still on its way out.
      std::lock_guard<std::mutex> sending{send_mtx_};
      std::unique_lock<std::mutex> guard{mtx_};
      if (stopping_)
        return;
      auto now = clock::now();
      if (auto gap = clock_.wake(now))
        stall_ = std::max(stall_.value_or(clock::duration::zero()), *gap);
      // After a stall this incarnation has been marked down by the others:
      // its heartbeats would only make them answer "fenced". The daemon
      // decides (and prepares new heartbeats) when it takes the stall.
      if (!stall_ && !hb_.empty()) {
        auto sender = caf::actor_cast<caf::strong_actor_ptr>(sender_);
        auto hb = hb_;
        auto to = to_;
        if (sender)
          ++rounds_;
        guard.unlock();
        if (sender)
          for (auto& x : to)
            x->enqueue(sender, caf::make_message_id(), hb, nullptr);
      }
      next += interval_;
      if (next < now)
        next = now + interval_;
    }
    std::unique_lock<std::mutex> guard{mtx_};
    if (cv_.wait_until(guard, next, [this] { return stopping_; }))
      return;
  }
}

} // namespace troupe::cluster
