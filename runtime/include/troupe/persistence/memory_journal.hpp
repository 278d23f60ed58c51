// SPDX-License-Identifier: Apache-2.0
// An in-memory journal with injectable failures: the test kit for the
// persistent actors of applications.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "troupe/error.hpp"
#include "troupe/persistence/journal.hpp"

namespace troupe::persistence {

/// What several `memory_journal`s share, as processes share a database.
/// Safe to use from any thread.
class memory_store {
public:
  memory_store();
  ~memory_store();

  /// Makes the next `n` calls that write (append, snapshot, state, epoch,
  /// commit) fail with `code` and `text`, writing nothing.
  void fail_writes(int n, std::string text = "injected write failure",
                   errc code = errc::persistence_failed);

  /// Makes the next `n` calls that read fail likewise.
  void fail_reads(int n, std::string text = "injected read failure");

  /// The database goes away: every call fails as on a lost connection
  /// (`journal::connection_lost` is true) until the journal has tried to
  /// reconnect `failed_reconnects` times; the next try gets it back.
  void go_away(int failed_reconnects);

  /// Number of events stored for `pid` (for tests).
  size_t event_count(const std::string& pid) const;

  /// Overwrites the bytes of a stored event (for corruption tests).
  void corrupt_event(const std::string& pid, uint64_t seq, std::string type,
                     std::string bytes);

  /// @private
  struct impl;
  /// @private
  std::unique_ptr<impl> impl_;
};

/// A journal over a `memory_store`; each instance keeps its own pending
/// transaction, which becomes visible to the others on `commit()`.
std::unique_ptr<journal>
make_memory_journal(std::shared_ptr<memory_store> store
                    = std::make_shared<memory_store>());

/// The store of this process named `name`, made on first use: the journal
/// location `memory:NAME` opens a journal over it, so that nodes in one
/// process (troupe::testkit's) share their persistent state as nodes share
/// a database. It lives while a journal or a caller holds it; hold it
/// across a node's restart to keep what was written.
std::shared_ptr<memory_store> shared_memory_store(const std::string& name);

} // namespace troupe::persistence
