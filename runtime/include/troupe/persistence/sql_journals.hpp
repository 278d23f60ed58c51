// SPDX-License-Identifier: Apache-2.0
// The SQL journals: SQLite (embedded, the default) and PostgreSQL (for
// clusters across machines).
#pragma once

#include <memory>
#include <string>

#include "troupe/persistence/journal.hpp"

namespace troupe::persistence {

/// Opens (and creates) an SQLite journal in one database file, in WAL mode.
///
/// `path` may end in `?synchronous=normal`: SQLite then fsyncs the WAL only
/// at checkpoints, so a power loss (not a process crash) can lose the last
/// transactions; the default `synchronous=full` fsyncs every commit. The
/// nodes of a cluster on one machine may share the file: SQLite's locks
/// serialize their transactions (a writer waits up to 10 s for the lock).
caf::expected<std::unique_ptr<journal>>
open_sqlite_journal(const std::string& path);

/// Opens a PostgreSQL journal (`postgresql://user@host:port/db` or any libpq
/// connection string), creating its tables if needed; nodes opening one
/// database at once serialize that on an advisory lock.
///
/// Several nodes may write to one database: every write locks the
/// persistence id's row in `troupe_ids`, so a stale writer is fenced even
/// while the new one is mid-transaction. An append of a few events is one
/// round trip. `connect_timeout` defaults to 10 s. After a lost connection
/// every call fails with `persistence_failed` until `reconnect()` succeeds
/// (which abandons an open transaction).
caf::expected<std::unique_ptr<journal>>
open_postgres_journal(const std::string& conninfo);

} // namespace troupe::persistence
