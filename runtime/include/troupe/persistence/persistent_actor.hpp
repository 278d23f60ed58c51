// SPDX-License-Identifier: Apache-2.0
// What event-sourced and durable-state actors share: a persistence id, the
// writer epoch, and waiting (in order) while the journal works.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include <caf/actor_config.hpp>
#include <caf/behavior.hpp>
#include <caf/timespan.hpp>

#include "troupe/actor/actor_base.hpp"
#include "troupe/persistence/journal_service.hpp"

namespace troupe::persistence {

/// Names a persistent actor's stored state on every node: its type (such as
/// "account") and its key (such as "7"). Written `type|key`.
struct persistence_id {
  std::string type;
  std::string key;

  std::string str() const {
    return type + "|" + key;
  }
};

/// Base of `event_sourced` and `durable_state`.
///
/// While the actor recovers and while one of its writes is in flight, it
/// takes no other message: they wait in its mailbox, in order, and run after
/// (CAF's skip). A write that the journal refuses because a newer
/// incarnation took the writer epoch stops this incarnation for good with
/// `errc::writer_fenced`. Any other failed write answers the requester of the
/// message that made it with the error, then fails the actor as a throw
/// would: its supervisor decides, and a restart in place recovers again from
/// what was stored, under a new epoch. A recovery that fails because the
/// journal is unreachable is retried with back-off (50 ms doubling, 6
/// tries) before it fails the actor likewise.
///
/// Thread safety: as any actor, from inside its own handlers only; the
/// figures (`last_sequence_nr`, ...), `pid_copy`, `type_name` and `name`
/// are readable from any thread (introspection reads them while the init
/// function of a restart in place sets the id again).
class persistent_base : public actor_base {
public:
  persistent_base(caf::actor_config& cfg, std::optional<mailbox_bound> bound);

  ~persistent_base() override;

  /// `type|key`, empty until set. The actor's own thread only (see
  /// `pid_copy`).
  const std::string& pid() const noexcept {
    return pid_;
  }

  /// A copy of `pid()`, safe from any thread (introspection): the init
  /// function sets the id again at every restart in place.
  std::string pid_copy() const {
    std::lock_guard<std::mutex> guard{id_mtx_};
    return pid_;
  }

  /// The persistence id's type, interned (valid for the whole process),
  /// readable from any thread; nullptr until `set_id`.
  const char* type_name() const noexcept {
    return type_name_.load(std::memory_order_acquire);
  }

  /// Sequence number of the last stored event (revision of a durable state).
  uint64_t last_sequence_nr() const noexcept {
    return last_seq_.load(std::memory_order_relaxed);
  }

  /// This incarnation's writer epoch (0 until recovered).
  uint64_t writer_epoch() const noexcept {
    return epoch_.load(std::memory_order_relaxed);
  }

  /// How long the last recovery took, in nanoseconds (-1: still running).
  int64_t recovery_ns() const noexcept {
    return recovery_ns_.load(std::memory_order_relaxed);
  }

  /// Whether a write or the recovery is in flight.
  bool waiting() const noexcept {
    return static_cast<bool>(pending_);
  }

  /// Remembers the requester of each message, then consumes it as
  /// `actor_base` does.
  caf::invoke_message_result consume(caf::mailbox_element& x) override;

  /// Starts the first incarnation: the init function, then recovery.
  caf::behavior make_behavior() override;

  bool can_restart_in_place() const noexcept override;

  /// Drops what the incarnation held for its journal when the actor ends:
  /// a write or recovery in flight, the writes queued behind it, the
  /// requesters remembered, the behaviors and the journal service.
  void on_exit() override;

  /// Starts a new incarnation in place: what was in flight is forgotten,
  /// the state rebuilt from the init function and a new recovery.
  bool try_restart_in_place(const caf::error& reason) override;

protected:
  /// Whether the actor kept an init function (it can start incarnations).
  virtual bool has_init() const noexcept = 0;

  /// Resets the state, runs the init function and starts recovery
  /// (`start_recovery`); an empty behavior when the actor quit instead.
  virtual caf::behavior start_incarnation() = 0;

  using continuation = std::function<void(detail::journal_reply&)>;

  /// Sets the persistence id (from the init function).
  void set_id(struct persistence_id id);

  /// Asks for recovery (sequence number and epoch start again at 0); once
  /// the journal answered, the user's behavior comes back and `done` runs
  /// with what it recovered, or the actor fails (`fail_persistence`).
  /// @returns the behavior to install meanwhile.
  caf::behavior start_recovery(detail::job_kind kind, continuation done);

  /// Runs `start` now or, while a write is in flight, once that write is
  /// durable and applied (in call order, each before the `then` of the
  /// write it waited for). `start` numbers its write from the state it
  /// finds and calls `write`: several writes in one handler are stored in
  /// the order they were made.
  void after_writes(std::function<void()> start);

  /// Sends `job` (an append or a state save) and waits for its reply; once
  /// it is durable the user's behavior comes back, `apply` folds it into
  /// the state, a write queued by `after_writes` starts, and `then` runs.
  void write(detail::journal_job job, std::function<void()> apply,
             std::function<void()> then);

  /// Queues a job without waiting (snapshots).
  void write_async(detail::journal_job job);

  /// Installs `bhvr` (already guarded) as the one behavior.
  void install(const caf::behavior& bhvr);

  /// Fails this incarnation after a journal error (see the class comment).
  void fail_persistence(const caf::error& err, const char* what);

  /// Forgets a recovery or write in flight (its late reply is ignored):
  /// before a restart in place.
  void drop_pending();

  void set_last_seq(uint64_t x) noexcept {
    last_seq_.store(x, std::memory_order_relaxed);
  }

  void set_epoch(uint64_t x) noexcept {
    epoch_.store(x, std::memory_order_relaxed);
  }

  /// The user's behavior, guarded.
  caf::behavior user_;

private:
  void on_reply(detail::journal_reply& r);
  void retry_recovery();
  caf::behavior waiting_behavior();
  void skip_others();
  void enter_waiting();
  void leave_waiting();

  std::shared_ptr<journal_service> svc_;
  struct persistence_id id_;
  std::string pid_;
  /// Guards `pid_`'s writes (the actor's own thread) against `pid_copy`.
  mutable std::mutex id_mtx_;
  std::atomic<const char*> type_name_{nullptr};
  std::atomic<uint64_t> last_seq_{0};
  std::atomic<uint64_t> epoch_{0};
  std::atomic<int64_t> recovery_ns_{-1};
  int64_t recovery_started_ns_ = 0;
  uint64_t tag_ = 0;
  continuation pending_;
  detail::job_kind recovery_kind_ = detail::job_kind::recover_events;
  int recovery_tries_ = 0;
  bool recovering_ = false;
  /// Whether unmatched messages are skipped (while waiting).
  bool skipping_ = false;
  caf::strong_actor_ptr current_asker_;
  caf::message_id current_mid_;
  /// Who asked for the write in flight, answered if it fails.
  caf::strong_actor_ptr asker_;
  caf::message_id asker_mid_;
  /// Writes made while one was in flight, with who asked for each.
  struct deferred_write {
    std::function<void()> start;
    caf::strong_actor_ptr asker;
    caf::message_id mid;
  };
  std::deque<deferred_write> deferred_;
  default_handler saved_default_;
  caf::behavior waiting_;
};

} // namespace troupe::persistence
