// SPDX-License-Identifier: Apache-2.0
// The SQL of the PostgreSQL journal: its schema and the statements whose
// text depends on the number of events.
#pragma once

#include <cstddef>
#include <string>

namespace troupe::persistence::detail {

/// Serializes schema creation among nodes opening one database at once.
constexpr const char* schema_lock_sql
  = "SELECT pg_advisory_xact_lock(7528953163245731)";

/// Persistence ids compare bytewise (COLLATE "C": cheaper than a locale's
/// collation); troupe_ids leaves room on its pages so that the per-append
/// UPDATE stays a heap-only update.
constexpr const char* create_sql = R"sql(
CREATE TABLE IF NOT EXISTS troupe_schema(version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS troupe_ids(
  pid TEXT COLLATE "C" PRIMARY KEY, epoch BIGINT NOT NULL,
  highest BIGINT NOT NULL, state_revision BIGINT NOT NULL)
  WITH (fillfactor=50);
CREATE TABLE IF NOT EXISTS troupe_events(
  pid TEXT COLLATE "C" NOT NULL, seq BIGINT NOT NULL, type TEXT NOT NULL,
  payload BYTEA NOT NULL, PRIMARY KEY(pid, seq));
CREATE TABLE IF NOT EXISTS troupe_snapshots(
  pid TEXT COLLATE "C" NOT NULL, seq BIGINT NOT NULL, type TEXT NOT NULL,
  payload BYTEA NOT NULL, PRIMARY KEY(pid, seq));
CREATE TABLE IF NOT EXISTS troupe_states(
  pid TEXT COLLATE "C" PRIMARY KEY, revision BIGINT NOT NULL,
  type TEXT NOT NULL, payload BYTEA NOT NULL);
)sql";

/// Appends of at most this many events take the one-statement fast path.
constexpr size_t max_fast_events = 16;

/// Rows per INSERT on the slow path (3 parameters each, plus the pid).
constexpr size_t insert_chunk = 1000;

/// The fast append: bumps `highest` only if the epoch and the expected
/// highest match (the UPDATE locks the row and re-checks it against a
/// concurrent writer), then inserts the events; 0 rows means "refused or
/// raced", which the slow path explains.
inline std::string fast_append_sql(size_t n) {
  std::string sql = "WITH up AS (UPDATE troupe_ids SET highest=$4 WHERE "
                    "pid=$1 AND epoch=$2 AND highest=$3 RETURNING pid) "
                    "INSERT INTO troupe_events(pid, seq, type, payload) "
                    "SELECT up.pid, v.seq, v.type, v.payload FROM up, "
                    "(VALUES ";
  for (size_t i = 0; i < n; ++i) {
    auto p = 5 + 3 * i;
    sql += i == 0 ? "(" : ", (";
    sql += "$" + std::to_string(p) + "::bigint, $" + std::to_string(p + 1)
           + "::text, $" + std::to_string(p + 2) + "::bytea)";
  }
  sql += ") AS v(seq, type, payload)";
  return sql;
}

/// A plain multi-row insert of `n` events of one pid ($1), for the slow
/// path once the row is locked and checked.
inline std::string insert_events_sql(size_t n) {
  std::string sql = "INSERT INTO troupe_events(pid, seq, type, payload) "
                    "VALUES ";
  for (size_t i = 0; i < n; ++i) {
    auto p = 2 + 3 * i;
    sql += i == 0 ? "($1, $" : ", ($1, $";
    sql += std::to_string(p) + ", $" + std::to_string(p + 1) + ", $"
           + std::to_string(p + 2) + ")";
  }
  return sql;
}

} // namespace troupe::persistence::detail
