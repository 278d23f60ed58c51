// SPDX-License-Identifier: Apache-2.0
// A prepared SQLite statement: bind, step, read columns, reset.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

namespace troupe::persistence::detail {

/// Owns one prepared statement of one connection. A failed prepare shows as
/// `failed()` on the first step, with SQLite's message in `error_text()`.
class sqlite_statement {
public:
  sqlite_statement(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st_,
                             nullptr);
  }

  ~sqlite_statement() {
    sqlite3_finalize(st_);
  }

  sqlite_statement(const sqlite_statement&) = delete;
  sqlite_statement& operator=(const sqlite_statement&) = delete;

  void bind(int i, const std::string& x) {
    sqlite3_bind_text(st_, i, x.data(), static_cast<int>(x.size()),
                      SQLITE_STATIC);
  }

  void bind_blob(int i, const std::string& x) {
    sqlite3_bind_blob(st_, i, x.data(), static_cast<int>(x.size()),
                      SQLITE_STATIC);
  }

  void bind(int i, uint64_t x) {
    sqlite3_bind_int64(st_, i, static_cast<sqlite3_int64>(x));
  }

  /// True while a row is ready; false at the end or on failure.
  bool step() {
    if (st_ == nullptr)
      return false;
    rc_ = sqlite3_step(st_);
    return rc_ == SQLITE_ROW;
  }

  /// Runs a statement without rows to its end; resets it on success.
  bool done() {
    step();
    if (rc_ != SQLITE_DONE && rc_ != SQLITE_ROW)
      return false;
    reset();
    return true;
  }

  bool failed() const noexcept {
    return rc_ != SQLITE_ROW && rc_ != SQLITE_DONE && rc_ != SQLITE_OK;
  }

  std::string error_text() const {
    return st_ == nullptr ? std::string{"cannot prepare: "} + sqlite3_errmsg(db_)
                          : sqlite3_errmsg(db_);
  }

  uint64_t column_u64(int i) {
    return static_cast<uint64_t>(sqlite3_column_int64(st_, i));
  }

  std::string column_text(int i) {
    auto p = sqlite3_column_text(st_, i);
    auto n = sqlite3_column_bytes(st_, i);
    return p ? std::string{reinterpret_cast<const char*>(p),
                           static_cast<size_t>(n)}
             : std::string{};
  }

  std::string column_blob(int i) {
    auto p = sqlite3_column_blob(st_, i);
    auto n = sqlite3_column_bytes(st_, i);
    return p ? std::string{static_cast<const char*>(p), static_cast<size_t>(n)}
             : std::string{};
  }

  void reset() {
    if (st_ != nullptr) {
      sqlite3_reset(st_);
      sqlite3_clear_bindings(st_);
    }
    rc_ = SQLITE_OK;
  }

private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
  int rc_ = SQLITE_OK;
};

} // namespace troupe::persistence::detail
