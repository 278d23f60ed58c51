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

/// Opens a PostgreSQL journal (`postgresql://user@host:port/db`), creating
/// its tables if needed.
caf::expected<std::unique_ptr<journal>>
open_postgres_journal(const std::string& conninfo);

} // namespace troupe::persistence
