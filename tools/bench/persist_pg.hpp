// SPDX-License-Identifier: Apache-2.0
// The PostgreSQL floor of bench_persistence: the same rows inserted with
// raw libpq, one multi-row INSERT (one round trip, one transaction) per
// batch, into a table of the journal's schema.
#pragma once

#include <libpq-fe.h>

#include <string>
#include <vector>

#include "persist_raw.hpp"

namespace bench::persist {

class raw_pg {
public:
  explicit raw_pg(const std::string& conninfo) : c_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(c_) != CONNECTION_OK)
      die("connect");
    exec("SET client_min_messages=warning");
    exec("DROP TABLE IF EXISTS raw_events");
    exec("CREATE TABLE raw_events(pid TEXT COLLATE \"C\" NOT NULL, seq "
         "BIGINT NOT NULL, type TEXT NOT NULL, payload BYTEA NOT NULL, "
         "PRIMARY KEY(pid, seq))");
  }
  ~raw_pg() {
    exec("DROP TABLE IF EXISTS raw_events");
    PQfinish(c_);
  }
  raw_pg(const raw_pg&) = delete;
  raw_pg& operator=(const raw_pg&) = delete;

  /// Inserts rows [i, i + n) in one statement (its own transaction).
  void insert(const std::vector<row_data>& rows, size_t i, size_t n) {
    std::string sql = "INSERT INTO raw_events VALUES ";
    std::vector<std::string> seqs(n);
    std::vector<const char*> vals;
    std::vector<int> lens, fmts;
    for (size_t k = 0; k < n; ++k) {
      auto& r = rows[i + k];
      auto p = 4 * k + 1;
      sql += k == 0 ? "(" : ",(";
      sql += "$" + std::to_string(p) + ",$" + std::to_string(p + 1)
             + "::bigint,$" + std::to_string(p + 2) + ",$"
             + std::to_string(p + 3) + ")";
      seqs[k] = std::to_string(r.seq);
      for (auto* s : std::initializer_list<const std::string*>{
             &r.pid, &seqs[k], &r.type, &r.bytes}) {
        vals.push_back(s->data());
        lens.push_back(static_cast<int>(s->size()));
        fmts.push_back(s == &r.bytes ? 1 : 0);
      }
    }
    auto* res = PQexecParams(c_, sql.c_str(), static_cast<int>(vals.size()),
                             nullptr, vals.data(), lens.data(), fmts.data(), 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
      PQclear(res);
      die("insert");
    }
    PQclear(res);
  }

  void exec(const char* sql) {
    auto* res = PQexec(c_, sql);
    auto st = PQresultStatus(res);
    PQclear(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
      die(sql);
  }

private:
  [[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "raw libpq: %s: %s\n", what.c_str(),
                 PQerrorMessage(c_));
    std::exit(1);
  }

  PGconn* c_;
};

/// Raw libpq: `rows` in statements (transactions) of `batch`; rows/s.
inline double raw_pg_batches(const std::string& conninfo,
                             const std::vector<row_data>& rows, size_t batch) {
  raw_pg db{conninfo};
  auto t0 = clock::now();
  for (size_t i = 0; i < rows.size(); i += batch)
    db.insert(rows, i, std::min(batch, rows.size() - i));
  return static_cast<double>(rows.size()) / seconds_since(t0);
}

} // namespace bench::persist
