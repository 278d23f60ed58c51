// SPDX-License-Identifier: Apache-2.0
// The storage interface of persistent actors: events, snapshots and durable
// state by persistence id, guarded by writer epochs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace troupe::persistence {

/// One stored item: an event (`seq` is its sequence number), a snapshot
/// (`seq` is the sequence number of the last event it includes) or a durable
/// state (`seq` is its revision). `type` is the full name of the Protobuf
/// message whose serialized form `bytes` holds, so a reader can tell an
/// unknown type from corrupt bytes.
struct record {
  uint64_t seq = 0;
  std::string type;
  std::string bytes;
};

/// What a recovering actor gets: its new writer epoch and what is stored.
struct recovery {
  /// The writer epoch this incarnation writes with; every earlier one is
  /// refused from now on.
  uint64_t epoch = 0;
  /// Highest sequence number ever written (survives deleting events).
  uint64_t highest_seq = 0;
  /// The newest snapshot, if any.
  std::optional<record> snapshot;
  /// The events after the snapshot, oldest first.
  std::vector<record> events;
  /// The durable state, for `recover_state`.
  std::optional<record> state;
};

/// Storage of persistent actors, keyed by persistence id (`type|key`).
///
/// Writes that check a writer epoch refuse a stale one with
/// `errc::writer_fenced`; an append whose first sequence number is not the
/// highest stored plus one, or a state save whose expected revision is not
/// the stored one, is refused with `errc::revision_conflict`. A refused
/// call writes nothing. Other failures (I/O, a lost connection, corrupt
/// data) are `errc::persistence_failed` with a text naming the persistence
/// id and sequence number where one is known.
///
/// Calls between `begin()` and `commit()` form one transaction: the group
/// committer (`journal_service`) runs the work of many actors in one. A
/// refused call does not spoil the transaction; a failed one does, and the
/// caller rolls back. Outside a transaction each call commits on its own.
///
/// Thread safety: an instance is used by one thread at a time. Several
/// instances (several processes) may share one database: the backends
/// serialize their transactions there.
class journal {
public:
  virtual ~journal();

  /// A short name of the backend ("memory", "sqlite", "postgresql").
  virtual const char* kind() const noexcept = 0;

  virtual caf::error begin() = 0;
  virtual caf::error commit() = 0;
  virtual void rollback() noexcept = 0;

  /// Takes the next writer epoch of `pid` (1 for a new id).
  virtual caf::expected<uint64_t> take_epoch(const std::string& pid) = 0;

  /// The current writer epoch of `pid` (0 if none was ever taken).
  virtual caf::expected<uint64_t> current_epoch(const std::string& pid) = 0;

  /// Highest sequence number ever appended for `pid` (0 if none).
  virtual caf::expected<uint64_t> highest_seq(const std::string& pid) = 0;

  /// Appends `events` atomically (all or none). Their sequence numbers must
  /// be consecutive, starting at `highest_seq(pid) + 1`.
  virtual caf::error append(const std::string& pid, uint64_t epoch,
                            const std::vector<record>& events) = 0;

  /// One append of `append_all`; the pointers stay valid during the call.
  struct append_request {
    const std::string* pid;
    uint64_t epoch;
    const std::vector<record>* events;
  };

  /// Appends for several ids in the open transaction, one result per
  /// request, each as `append` would give it. The PostgreSQL journal sends
  /// them in one round trip (libpq's pipeline mode); the default calls
  /// `append` for each.
  virtual std::vector<caf::error>
  append_all(const std::vector<append_request>& xs);

  /// Calls `fn` for each event of `pid` with `from <= seq <= to`, oldest
  /// first, at most `max` of them.
  virtual caf::error replay(const std::string& pid, uint64_t from,
                            uint64_t to, uint64_t max,
                            const std::function<void(record&&)>& fn) = 0;

  /// Deletes the events of `pid` with `seq <= to` (never the highest
  /// sequence number, which `highest_seq` keeps reporting).
  virtual caf::error delete_events(const std::string& pid, uint64_t to) = 0;

  /// Stores a snapshot and keeps only the newest `keep` (at least 1).
  virtual caf::error save_snapshot(const std::string& pid, uint64_t epoch,
                                   const record& snapshot, uint32_t keep)
    = 0;

  /// The newest snapshot of `pid`, if any.
  virtual caf::expected<std::optional<record>>
  load_snapshot(const std::string& pid) = 0;

  /// The durable state of `pid`, if any; its `seq` is the revision.
  virtual caf::expected<std::optional<record>>
  load_state(const std::string& pid) = 0;

  /// Stores `state` as revision `state.seq`, if the stored revision is
  /// `state.seq - 1` (0: none stored).
  virtual caf::error save_state(const std::string& pid, uint64_t epoch,
                                const record& state) = 0;

  /// Deletes the durable state of `pid` (its revision is kept).
  virtual caf::error delete_state(const std::string& pid, uint64_t epoch) = 0;

  /// Tries to re-open a lost connection; `persistence_failed` while the
  /// database is still out of reach.
  virtual caf::error reconnect();

  /// Whether the connection to the database is lost (the last call failed
  /// for that, not for what it asked): the journal service then waits for
  /// it to come back and runs the batch again.
  virtual bool connection_lost() const noexcept;

  /// Whether a call may wait for a device or a server (a disk's fsync, a
  /// round trip): true unless overridden. A journal that never waits (the
  /// memory journal) gains nothing from a committer thread of its own, and
  /// `journal_service::start` then runs its batches in the threads that
  /// submit (`journal_service::mode::in_caller`).
  virtual bool waits() const noexcept;

  /// Recovers `pid`: takes a new epoch, loads the newest snapshot and the
  /// events after it. Built from the calls above.
  caf::expected<recovery> recover(const std::string& pid);

  /// Recovers a durable-state `pid`: takes a new epoch, loads the state.
  caf::expected<recovery> recover_state(const std::string& pid);
};

/// Opens a journal from a location: `memory:` (a store of its own),
/// `memory:NAME` (the process's store of that name, see
/// `shared_memory_store`), `sqlite:PATH` (or a plain path) or
/// `postgresql://...` / `postgres://...`.
caf::expected<std::unique_ptr<journal>> open_journal(const std::string& where);

/// The schema version of the SQL journals; a database of another version is
/// refused with one clear line.
constexpr int schema_version = 1;

} // namespace troupe::persistence
