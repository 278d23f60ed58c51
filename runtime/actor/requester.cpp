// SPDX-License-Identifier: Apache-2.0
// The reply slot behind troupe::requester: an actor without a mailbox that
// hands the one answer it waits for to the waiting thread, which polls for
// it a little before it sleeps (see `await`).
#include "troupe/actor/requester.hpp"
#include "troupe/actor/request_spin.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include <caf/actor_config.hpp>
#include <caf/atom.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/settings.hpp>
#include <caf/exit_reason.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/make_actor.hpp>
#include <caf/monitorable_actor.hpp>

#include "actor/inline_run.hpp"
#include "actor/spin_budget.hpp"

namespace troupe {

namespace {

using std::chrono::steady_clock;

class reply_slot final : public caf::monitorable_actor {
public:
  reply_slot(caf::actor_config& cfg, std::chrono::microseconds spin)
      : caf::monitorable_actor(cfg), spin_(spin) {
    // A one-shot `troupe::ask` has no history: it polls a little at once.
    spin_.prime();
    // Not an application actor: a node's shutdown sweep passes it by.
    setf(is_hidden_flag);
  }

  const char* name() const override {
    return "troupe.requester";
  }

  /// Takes the answer awaited now; drops anything else. A request sent to
  /// the slot is answered with an error, so that its sender need not wait.
  void enqueue(caf::mailbox_element_ptr what,
               caf::execution_unit* ctx) override {
    if (what->mid.is_response()) {
      std::unique_lock<std::mutex> guard{mtx_};
      if (closed_ || !awaiting_ ||
          what->mid.request_id() != awaited_.request_id()) {
        guard.unlock();
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      awaiting_ = false;
      answer_ = what->move_content_to_message();
      ready_.store(true, std::memory_order_release);
      guard.unlock();
      cv_.notify_one();
      return;
    }
    if (what->mid.is_request() && what->sender)
      what->sender->enqueue(caf::make_mailbox_element(
                                ctrl(), what->mid.response_id(), {},
                                caf::make_error(caf::sec::unexpected_message)),
                            ctx);
  }

  /// A fresh request id, awaited from now on.
  caf::message_id arm() {
    std::lock_guard<std::mutex> guard{mtx_};
    awaited_ = caf::make_message_id(++last_id_);
    awaiting_ = true;
    answer_.reset();
    ready_.store(false, std::memory_order_relaxed);
    return awaited_;
  }

  /// The answer, or none once `deadline` passed (a later answer is then
  /// dropped).
  ///
  /// Before it sleeps, the thread polls for the answer, yielding the CPU
  /// between looks, for at most the adaptive budget of `spin_budget`
  /// (grows while answers come within it or soon after, shrinks while they
  /// do not; a requester whose answers take long never polls). Why: an
  /// answer that finds its requester asleep costs a futex wake-up, and on a
  /// VM the sleeping CPU's wake-up interrupt besides. With 8 bank clients
  /// against 3 nodes on 2 cores, 76% of all CPU was in the kernel, mostly
  /// switching and waking threads; polling clients (whose yields hand the
  /// CPU to the threads with work) made 1.3-1.7x the transfers
  /// (docs/benchmarks.md). Unlike a link reader, a requester keeps polling
  /// on a crowded machine: its yields are what lets the others run.
  std::optional<caf::message>
  await(steady_clock::time_point deadline) {
    auto budget = spin_.get();
    if (budget.count() > 0 && !ready_.load(std::memory_order_acquire)) {
      auto until = std::min(deadline, steady_clock::now() + budget);
      bool got = false;
      do {
        std::this_thread::yield();
        got = ready_.load(std::memory_order_acquire);
      } while (!got && steady_clock::now() < until);
      if (got)
        spin_.hit();
      else
        spin_.miss(false);
    }
    std::unique_lock<std::mutex> guard{mtx_};
    if (!answer_.has_value()) {
      auto t0 = steady_clock::now();
      cv_.wait_until(guard, deadline, [this] {
        return answer_.has_value();
      });
      if (answer_.has_value())
        spin_.woke(std::chrono::duration_cast<std::chrono::microseconds>(
          steady_clock::now() - t0));
    }
    awaiting_ = false;
    auto out = std::move(answer_);
    answer_.reset();
    return out;
  }

  /// Ends the slot: monitors (and the registry entry BASP may have made
  /// for it) see it gone; later answers are dropped.
  void close() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      closed_ = true;
      awaiting_ = false;
      answer_.reset();
    }
    cleanup(caf::exit_reason::normal, nullptr);
  }

  uint64_t dropped() const noexcept {
    return dropped_.load(std::memory_order_relaxed);
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool closed_ = false;
  bool awaiting_ = false;
  uint64_t last_id_ = 0;
  caf::message_id awaited_;
  std::optional<caf::message> answer_;
  std::atomic<uint64_t> dropped_{0};
  /// Whether `answer_` holds the answer (read without the lock by a
  /// polling `await`).
  std::atomic<bool> ready_{false};
  /// Only the requester's thread, in `await`.
  detail::spin_budget spin_;
};

/// The most a requester polls: the node's `request_spin` (actor system
/// setting "troupe.request-spin-us"), `default_request_spin` elsewhere.
std::chrono::microseconds request_spin_cap(caf::actor_system& sys) {
  auto us = caf::get_or(sys.config(), "troupe.request-spin-us",
                        static_cast<int64_t>(default_request_spin.count()));
  return std::chrono::microseconds{std::max(int64_t{0}, us)};
}

reply_slot& slot_of(const caf::strong_actor_ptr& ptr) {
  return *static_cast<reply_slot*>(caf::actor_cast<caf::abstract_actor*>(ptr));
}

} // namespace

requester::requester(caf::actor_system& sys) {
  caf::actor_config cfg;
  slot_ = caf::make_actor<reply_slot, caf::strong_actor_ptr>(
      sys.next_actor_id(), sys.node(), &sys, cfg, request_spin_cap(sys));
  if (caf::get_or(sys.config(), "scheduler.policy", caf::atom("stealing"))
      != caf::atom("testing"))
    unit_ = &detail::caller_unit::of(sys);
}

requester::~requester() {
  slot_of(slot_).close();
}

caf::expected<caf::message>
requester::request(const caf::strong_actor_ptr& dest,
                   std::chrono::nanoseconds timeout, caf::message msg) {
  if (!dest)
    return caf::make_error(caf::sec::invalid_argument);
  // A year stands for "no timeout" (and keeps the sum from overflowing).
  timeout =
      std::min<std::chrono::nanoseconds>(timeout, std::chrono::hours{24 * 365});
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto& slot = slot_of(slot_);
  auto mid = slot.arm();
  auto what = caf::make_mailbox_element(slot_, mid, {}, std::move(msg));
  if (unit_ != nullptr && dest->node() == unit_->system().node()
      && detail::caller_unit::may_run_here()) {
    auto& unit = *static_cast<detail::caller_unit*>(unit_);
    detail::caller_unit::sending scope{unit};
    dest->enqueue(std::move(what), &unit);
  } else {
    dest->enqueue(std::move(what), nullptr);
  }
  auto answer = slot.await(deadline);
  if (!answer)
    return caf::make_error(caf::sec::request_timeout);
  if (answer->match_elements<caf::error>())
    return std::move(answer->get_mutable_as<caf::error>(0));
  return std::move(*answer);
}

uint64_t requester::dropped() const noexcept {
  return slot_of(slot_).dropped();
}

} // namespace troupe
