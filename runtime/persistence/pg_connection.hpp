// SPDX-License-Identifier: Apache-2.0
// The PostgreSQL journal's connection: one libpq connection, its prepared
// statements, and its errors as troupe errors naming the server.
#pragma once

#include <libpq-fe.h>

#include <string>
#include <unordered_set>
#include <vector>

#include <caf/error.hpp>

#include "persistence/pg_statement.hpp"

namespace troupe::persistence::detail {

class pg_connection {
public:
  /// `dbname`: a libpq connection string or URI (libpq's `dbname` key).
  explicit pg_connection(std::string dbname) : dbname_(std::move(dbname)) {
  }

  ~pg_connection() {
    close();
  }

  pg_connection(const pg_connection&) = delete;
  pg_connection& operator=(const pg_connection&) = delete;

  /// (Re)connects: a fresh session, no statement prepared.
  caf::error connect();

  void close();

  /// Whether there is no usable connection (never made, closed, or lost).
  bool lost() const noexcept {
    return conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK;
  }

  /// The connection, or null.
  PGconn* get() const noexcept {
    return conn_;
  }

  /// "user@host:port/db", for error texts.
  const std::string& where() const noexcept {
    return where_;
  }

  bool prepared(const std::string& name) const {
    return prepared_.count(name) != 0;
  }

  /// Prepares `sql` as the statement `name` on this connection unless it
  /// is already: null on success, else the failed result.
  pg_result prepare(const std::string& name, const std::string& sql,
                    const std::vector<Oid>& types);

  /// Runs the prepared statement `name` (preparing it from `sql` on first
  /// use on this connection) with binary parameters and binary results.
  pg_result run(const char* name, const std::string& sql, const pg_params& p,
                const std::vector<Oid>& types);

  /// Runs `sql` as it is (no parameters).
  caf::error exec(const std::string& sql);

  /// Whether a statement succeeded.
  static bool ok(const PGresult* res) noexcept {
    if (res == nullptr)
      return false;
    auto st = PQresultStatus(res);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
  }

  /// `persistence_failed` (or `transaction_conflict`) with PostgreSQL's
  /// message, naming `pid` unless empty and the step `what` unless null.
  caf::error fail(const PGresult* res, const std::string& pid,
                  const char* what = nullptr) const;

private:
  std::string dbname_;
  std::string where_ = "(not connected)";
  PGconn* conn_ = nullptr;
  std::unordered_set<std::string> prepared_;
};

} // namespace troupe::persistence::detail
