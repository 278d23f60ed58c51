// SPDX-License-Identifier: Apache-2.0
// The group committer between persistent actors and a journal: one thread
// that runs whatever work is waiting in one transaction.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/intrusive_ptr.hpp>

#include "troupe/persistence/journal.hpp"

namespace troupe::persistence {

/// Figures of a journal service, readable from any thread (`/metrics`).
struct journal_figures {
  std::atomic<uint64_t> events_written{0};
  std::atomic<uint64_t> batches{0};
  /// Sum of the jobs of all batches (divide by `batches` for the mean).
  std::atomic<uint64_t> batch_jobs{0};
  std::atomic<uint64_t> batch_jobs_max{0};
  /// Nanoseconds from a batch's start to its commit, summed and largest.
  std::atomic<uint64_t> write_ns_total{0};
  std::atomic<uint64_t> write_ns_max{0};
  std::atomic<uint64_t> recoveries{0};
  /// Jobs that failed (not refusals) and reconnects made.
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> reconnects{0};
};

namespace detail {

/// What a persistent actor asks of its journal.
enum class job_kind : uint8_t {
  recover_events,
  recover_state,
  append,
  snapshot,
  save_state,
  delete_state,
};

/// One piece of work; `reply_to` gets a `journal_reply` with `tag` after the
/// batch that held it committed (snapshots get none).
struct journal_job {
  job_kind kind = job_kind::append;
  std::string pid;
  uint64_t epoch = 0;
  std::vector<record> records;
  /// Snapshots to keep, and the events to delete with a snapshot (those
  /// with `seq <= delete_to`; 0: none).
  uint32_t keep = 1;
  uint64_t delete_to = 0;
  caf::strong_actor_ptr reply_to;
  uint64_t tag = 0;
};

/// The answer to a job (an atom `journal_reply_atom` comes first).
struct journal_reply {
  uint64_t tag = 0;
  caf::error err;
  recovery rec;
};

} // namespace detail

using journal_reply_atom = caf::atom_constant<caf::atom("trp_jrnl")>;

/// Runs the jobs of persistent actors against one journal, in batches:
/// each batch is everything that waited while the previous one committed,
/// run in one transaction, so that many writers share one fsync (group
/// commit, no timers). A job's reply leaves only after its batch committed:
/// an acknowledged event is durable.
///
/// A refused job (stale epoch, conflict) fails alone; any other failure
/// rolls the whole batch back and fails each of its jobs, and the next batch
/// re-opens the connection first (at most once per `retry_min`, doubling up
/// to `retry_max` while it keeps failing; jobs fail fast in between). A
/// batch that the database aborted for a concurrent transaction
/// (`errc::transaction_conflict`: a deadlock between two nodes' batches)
/// wrote nothing and runs again, up to 5 times, before its jobs fail. Each
/// batch touches its persistence ids in sorted order, which keeps such
/// deadlocks rare.
///
/// `manual` mode runs no thread: `run_pending()` runs one batch in the
/// caller's thread (for tests on CAF's test_coordinator).
///
/// `in_caller` mode runs no thread either: the thread that submits a job
/// while no batch runs runs the batches (its job and whatever others
/// submit meanwhile) until nothing waits, as a flat combiner; a job
/// submitted while a batch runs is taken by that thread. For a journal
/// that never waits (`journal::waits()` false: the memory journal), where
/// a committer thread would cost each write two thread wake-ups and buy
/// nothing: `automatic` picks it for such a journal, `threaded` otherwise.
/// Batches, their order and the replies after the commit are the same; a
/// lost connection fails its batch at once instead of being waited for in
/// the submitter's thread (an actor's scheduler thread).
///
/// Thread safety: `submit`, `figures` and `kind` are safe from any thread.
class journal_service {
public:
  using opener = std::function<caf::expected<std::unique_ptr<journal>>()>;
  enum class mode { threaded, manual, in_caller, automatic };

  /// Opens the journal once (a failure here is returned) and starts.
  static caf::expected<std::shared_ptr<journal_service>>
  start(opener open, mode m = mode::threaded);

  /// Opens the journal at `where` (see `open_journal`); by default in
  /// `in_caller` mode when the journal never waits, else `threaded`.
  static caf::expected<std::shared_ptr<journal_service>>
  start(const std::string& where, mode m = mode::automatic);

  ~journal_service();

  journal_service(const journal_service&) = delete;
  journal_service& operator=(const journal_service&) = delete;

  /// Queues a job. After `stop()`, fails it at once.
  void submit(detail::journal_job job);

  /// Manual mode: runs one batch of what is queued; returns its job count.
  size_t run_pending();

  /// Runs what is queued, then stops the thread; later jobs fail.
  void stop();

  /// How long a batch waits for a database that went away to come back
  /// before its jobs fail (10 s unless set): the journal reconnects with a
  /// back-off and runs the batch again, so a database restart costs the
  /// writers a wait and not a crash.
  void set_outage_window(std::chrono::milliseconds window);

  const journal_figures& figures() const noexcept;

  /// The backend's name ("sqlite", ...).
  const char* kind() const noexcept;

  /// The mode it runs in (`automatic` resolved).
  mode how() const noexcept;

  /// @private
  struct impl;

private:
  explicit journal_service(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// Makes `svc` the journal of the persistent actors of `sys` (the node does
/// this from its `journal` setting); null detaches. Thread-safe.
void attach_journal_service(caf::actor_system& sys,
                            std::shared_ptr<journal_service> svc);

/// The journal of `sys`'s persistent actors, or null.
std::shared_ptr<journal_service> journal_service_of(caf::actor_system& sys);

} // namespace troupe::persistence

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::persistence::detail::journal_reply)
