// SPDX-License-Identifier: Apache-2.0
// The PostgreSQL journal: one connection (pg_connection.hpp), prepared
// statements with binary parameters, writes checked against the locked
// troupe_ids row.
#include <libpq-fe.h>

#include <algorithm>
#include <cstdint>

#include "persistence/journal_checks.hpp"
#include "persistence/pg_connection.hpp"
#include "persistence/pg_statement.hpp"
#include "persistence/postgres_pipeline.hpp"
#include "persistence/postgres_sql.hpp"
#include "troupe/error.hpp"
#include "troupe/persistence/sql_journals.hpp"

namespace troupe::persistence {

namespace {

using detail::create_sql;
using detail::fast_append_sql;
using detail::insert_chunk;
using detail::insert_events_sql;
using detail::pg_bytea;
using detail::pg_int8;
using detail::pg_connection;
using detail::pg_params;
using detail::pg_result;
using detail::pg_text;
using detail::schema_lock_sql;

class postgres_journal final : public journal {
public:
  explicit postgres_journal(std::string conninfo) : db_(std::move(conninfo)) {
  }

  caf::error open() {
    in_tx_ = false;
    if (auto err = db_.connect())
      return err;
    // A node frozen in the middle of a batch holds its rows' locks, which
    // would block every other node's recovery of those ids until it wakes:
    // the server ends such a session (and its locks) after 3 s idle.
    if (auto err = exec("SET idle_in_transaction_session_timeout = 3000"))
      return err;
    if (auto err = exec("BEGIN ISOLATION LEVEL READ COMMITTED"))
      return err;
    auto err = exec(schema_lock_sql);
    if (!err)
      err = exec(create_sql);
    if (!err)
      err = check_schema();
    if (err) {
      exec("ROLLBACK");
      return err;
    }
    return exec("COMMIT");
  }

  const char* kind() const noexcept override {
    return "postgresql";
  }

  caf::error begin() override {
    if (in_tx_)
      return make_error(errc::persistence_failed, "transaction already open");
    if (auto err = exec("BEGIN ISOLATION LEVEL READ COMMITTED"))
      return err;
    in_tx_ = true;
    return {};
  }

  caf::error commit() override {
    if (!in_tx_)
      return {};
    if (db_.lost()) {
      auto err = fail(nullptr, "");
      rollback();
      return err;
    }
    if (PQtransactionStatus(db_.get()) != PQTRANS_INTRANS) {
      rollback();
      return make_error(errc::persistence_failed,
                        "postgresql journal " + db_.where()
                          + ": the transaction failed and was rolled back");
    }
    pg_result res{PQexec(db_.get(), "COMMIT")};
    in_tx_ = false;
    if (!ok(res.get()))
      return fail(res.get(), "COMMIT");
    // A COMMIT of a failed transaction answers ROLLBACK instead.
    if (std::string{PQcmdStatus(res.get())} != "COMMIT")
      return make_error(errc::persistence_failed,
                        "postgresql journal " + db_.where()
                          + ": the transaction was rolled back");
    return {};
  }

  void rollback() noexcept override {
    if (!in_tx_)
      return;
    in_tx_ = false;
    if (!db_.lost() && PQtransactionStatus(db_.get()) != PQTRANS_IDLE)
      pg_result{PQexec(db_.get(), "ROLLBACK")};
  }

  caf::expected<uint64_t> take_epoch(const std::string& pid) override {
    pg_params p;
    p.add(pid);
    auto res = run("take_epoch",
                   "INSERT INTO troupe_ids VALUES($1, 1, 0, 0) "
                   "ON CONFLICT(pid) DO UPDATE SET epoch=troupe_ids.epoch+1 "
                   "RETURNING epoch",
                   p, {pg_text});
    if (!ok(res.get()) || PQntuples(res.get()) != 1)
      return fail(res.get(), pid);
    return detail::pg_u64(res.get(), 0, 0);
  }

  caf::expected<uint64_t> current_epoch(const std::string& pid) override {
    auto row = ids_row(pid, false);
    if (!row)
      return row.error();
    return row->epoch;
  }

  caf::expected<uint64_t> highest_seq(const std::string& pid) override {
    auto row = ids_row(pid, false);
    if (!row)
      return row.error();
    return row->highest;
  }

  caf::error append(const std::string& pid, uint64_t epoch,
                    const std::vector<record>& events) override {
    if (detail::fast_eligible(pid, events)) {
      auto res = fast_append(pid, epoch, events);
      if (!res)
        return res.error();
      if (*res)
        return {};
    }
    // Refused, raced, empty or large: lock the row, check, then write.
    auto res = in_tx([&]() -> caf::expected<uint64_t> {
      auto row = ids_row(pid, true);
      if (!row)
        return row.error();
      if (auto err = detail::check_epoch(pid, row->epoch, epoch))
        return err;
      if (auto err = detail::check_append(pid, row->highest, events))
        return err;
      if (events.empty())
        return 0;
      if (auto err = insert_events(pid, events))
        return err;
      pg_params p;
      p.add(pid);
      p.add(events.back().seq);
      auto up = run("set_highest",
                    "UPDATE troupe_ids SET highest=$2 WHERE pid=$1", p,
                    {pg_text, pg_int8});
      if (!ok(up.get()))
        return fail(up.get(), pid);
      return 0;
    });
    return res ? caf::error{} : res.error();
  }

  /// The fast appends of `xs` in libpq's pipeline mode, `pipeline_chunk`
  /// statements per round trip (postgres_pipeline.cpp); what they refuse,
  /// and what is not eligible, then takes `append` one by one (which says
  /// why, or writes it).
  std::vector<caf::error>
  append_all(const std::vector<append_request>& xs) override {
    std::vector<caf::error> out(xs.size());
    std::vector<bool> done(xs.size(), false);
    std::vector<size_t> fast;
    for (size_t i = 0; i < xs.size(); ++i)
      if (detail::fast_eligible(*xs[i].pid, *xs[i].events))
        fast.push_back(i);
    if (db_.get() != nullptr && fast.size() > 1) {
      using detail::pipeline_chunk;
      for (size_t at = 0; at < fast.size(); at += pipeline_chunk) {
        std::vector<size_t> chunk(
          fast.begin() + at,
          fast.begin() + std::min(fast.size(), at + pipeline_chunk));
        if (auto err = detail::pipeline_appends(db_, xs, chunk, done)) {
          for (auto& e : out)
            e = err;
          return out;
        }
      }
    }
    for (size_t i = 0; i < xs.size(); ++i)
      if (!done[i])
        out[i] = append(*xs[i].pid, xs[i].epoch, *xs[i].events);
    return out;
  }

  caf::error replay(const std::string& pid, uint64_t from, uint64_t to,
                    uint64_t max,
                    const std::function<void(record&&)>& fn) override {
    auto clamp = [](uint64_t x) { return std::min(x, uint64_t{INT64_MAX}); };
    pg_params p;
    p.add(pid);
    p.add(clamp(from));
    p.add(clamp(to));
    p.add(clamp(max));
    auto res = run("replay",
                   "SELECT seq, type, payload FROM troupe_events WHERE "
                   "pid=$1 AND seq>=$2 AND seq<=$3 ORDER BY seq LIMIT $4",
                   p, {pg_text, pg_int8, pg_int8, pg_int8});
    if (!ok(res.get()))
      return fail(res.get(), pid);
    for (int i = 0, n = PQntuples(res.get()); i < n; ++i)
      fn(read_record(res.get(), i));
    return {};
  }

  caf::error delete_events(const std::string& pid, uint64_t to) override {
    pg_params p;
    p.add(pid);
    p.add(std::min(to, uint64_t{INT64_MAX}));
    auto res = run("delete_events",
                   "DELETE FROM troupe_events WHERE pid=$1 AND seq<=$2", p,
                   {pg_text, pg_int8});
    return ok(res.get()) ? caf::error{} : fail(res.get(), pid);
  }

  caf::error save_snapshot(const std::string& pid, uint64_t epoch,
                           const record& snapshot, uint32_t keep) override {
    auto res = in_tx([&]() -> caf::expected<uint64_t> {
      if (auto err = check_locked_epoch(pid, epoch))
        return err;
      pg_params p;
      p.add(pid);
      p.add(snapshot.seq);
      p.add(snapshot.type);
      p.add(snapshot.bytes);
      auto ins = run("insert_snapshot",
                     "INSERT INTO troupe_snapshots VALUES($1, $2, $3, $4) "
                     "ON CONFLICT(pid, seq) DO UPDATE SET "
                     "type=EXCLUDED.type, payload=EXCLUDED.payload",
                     p, {pg_text, pg_int8, pg_text, pg_bytea});
      if (!ok(ins.get()))
        return fail(ins.get(), pid);
      pg_params t;
      t.add(pid);
      t.add(uint64_t{std::max<uint32_t>(keep, 1)});
      auto trim = run("trim_snapshots",
                      "DELETE FROM troupe_snapshots WHERE pid=$1 AND seq < "
                      "(SELECT MIN(seq) FROM (SELECT seq FROM "
                      "troupe_snapshots WHERE pid=$1 ORDER BY seq DESC "
                      "LIMIT $2) AS newest)",
                      t, {pg_text, pg_int8});
      if (!ok(trim.get()))
        return fail(trim.get(), pid);
      return 0;
    });
    return res ? caf::error{} : res.error();
  }

  caf::expected<std::optional<record>>
  load_snapshot(const std::string& pid) override {
    return load_one("load_snapshot",
                    "SELECT seq, type, payload FROM troupe_snapshots "
                    "WHERE pid=$1 ORDER BY seq DESC LIMIT 1",
                    pid);
  }

  caf::expected<std::optional<record>>
  load_state(const std::string& pid) override {
    return load_one("load_state",
                    "SELECT revision, type, payload FROM troupe_states "
                    "WHERE pid=$1",
                    pid);
  }

  caf::error save_state(const std::string& pid, uint64_t epoch,
                        const record& state) override {
    auto res = in_tx([&]() -> caf::expected<uint64_t> {
      auto row = ids_row(pid, true);
      if (!row)
        return row.error();
      if (auto err = detail::check_epoch(pid, row->epoch, epoch))
        return err;
      if (auto err = detail::check_revision(pid, row->state_revision,
                                            state.seq))
        return err;
      pg_params p;
      p.add(pid);
      p.add(state.seq);
      p.add(state.type);
      p.add(state.bytes);
      auto ins = run("save_state",
                     "WITH up AS (UPDATE troupe_ids SET state_revision=$2 "
                     "WHERE pid=$1) INSERT INTO troupe_states "
                     "VALUES($1, $2, $3, $4) ON CONFLICT(pid) DO UPDATE SET "
                     "revision=EXCLUDED.revision, type=EXCLUDED.type, "
                     "payload=EXCLUDED.payload",
                     p, {pg_text, pg_int8, pg_text, pg_bytea});
      if (!ok(ins.get()))
        return fail(ins.get(), pid);
      return 0;
    });
    return res ? caf::error{} : res.error();
  }

  caf::error delete_state(const std::string& pid, uint64_t epoch) override {
    auto res = in_tx([&]() -> caf::expected<uint64_t> {
      if (auto err = check_locked_epoch(pid, epoch))
        return err;
      pg_params p;
      p.add(pid);
      auto del = run("delete_state", "DELETE FROM troupe_states WHERE pid=$1",
                     p, {pg_text});
      if (!ok(del.get()))
        return fail(del.get(), pid);
      return 0;
    });
    return res ? caf::error{} : res.error();
  }

  caf::error reconnect() override {
    return open();
  }

  bool connection_lost() const noexcept override {
    return db_.lost();
  }

private:
  struct ids {
    uint64_t epoch = 0;
    uint64_t highest = 0;
    uint64_t state_revision = 0;
  };

  /// One round trip: true if the events were written, false if the row did
  /// not match (the caller then explains the refusal on the slow path).
  caf::expected<bool> fast_append(const std::string& pid, uint64_t epoch,
                                  const std::vector<record>& events) {
    auto n = events.size();
    pg_params p;
    detail::fast_params(p, pid, epoch, events);
    auto name = "append_" + std::to_string(n);
    // The SQL text is only needed to prepare, once per connection.
    auto sql = db_.prepared(name) ? std::string{} : fast_append_sql(n);
    auto res = run(name.c_str(), sql, p, detail::fast_types(n));
    if (!ok(res.get()))
      return fail(res.get(), pid);
    return std::string{PQcmdTuples(res.get())} == std::to_string(n);
  }

  /// Inserts `events` in chunks, unprepared (their number varies).
  caf::error insert_events(const std::string& pid,
                           const std::vector<record>& events) {
    for (size_t at = 0; at < events.size(); at += insert_chunk) {
      auto end = std::min(events.size(), at + insert_chunk);
      pg_params p;
      p.add(pid);
      std::vector<Oid> types{pg_text};
      for (auto i = at; i < end; ++i) {
        p.add(events[i].seq);
        p.add(events[i].type);
        p.add(events[i].bytes);
        types.insert(types.end(), {pg_int8, pg_text, pg_bytea});
      }
      auto sql = insert_events_sql(end - at);
      pg_result res{PQexecParams(db_.get(), sql.c_str(), p.size(),
                                 types.data(), p.values(), p.lengths(),
                                 p.formats(), 1)};
      if (!ok(res.get()))
        return fail(res.get(), pid);
    }
    return {};
  }

  /// The troupe_ids row of `pid` (zeros if none), locked until the end of
  /// the transaction if `lock`.
  caf::expected<ids> ids_row(const std::string& pid, bool lock) {
    pg_params p;
    p.add(pid);
    auto res = lock ? run("lock_ids",
                          "SELECT epoch, highest, state_revision FROM "
                          "troupe_ids WHERE pid=$1 FOR UPDATE",
                          p, {pg_text})
                    : run("ids",
                          "SELECT epoch, highest, state_revision FROM "
                          "troupe_ids WHERE pid=$1",
                          p, {pg_text});
    if (!ok(res.get()))
      return fail(res.get(), pid);
    ids out;
    if (PQntuples(res.get()) == 1) {
      out.epoch = detail::pg_u64(res.get(), 0, 0);
      out.highest = detail::pg_u64(res.get(), 0, 1);
      out.state_revision = detail::pg_u64(res.get(), 0, 2);
    }
    return out;
  }

  caf::error check_locked_epoch(const std::string& pid, uint64_t epoch) {
    auto row = ids_row(pid, true);
    if (!row)
      return row.error();
    return detail::check_epoch(pid, row->epoch, epoch);
  }

  caf::expected<std::optional<record>>
  load_one(const char* name, const char* sql, const std::string& pid) {
    pg_params p;
    p.add(pid);
    auto res = run(name, sql, p, {pg_text});
    if (!ok(res.get()))
      return fail(res.get(), pid);
    std::optional<record> out;
    if (PQntuples(res.get()) > 0)
      out = read_record(res.get(), 0);
    return out;
  }

  static record read_record(const PGresult* res, int row) {
    record x;
    x.seq = detail::pg_u64(res, row, 0);
    x.type = detail::pg_bytes(res, row, 1);
    x.bytes = detail::pg_bytes(res, row, 2);
    return x;
  }

  /// Runs `fn` in the open transaction, or in one of its own.
  template <class F>
  caf::expected<uint64_t> in_tx(F fn) {
    return detail::in_transaction(*this, in_tx_, std::move(fn));
  }

  pg_result run(const char* name, const std::string& sql, const pg_params& p,
                const std::vector<Oid>& types) {
    return db_.run(name, sql, p, types);
  }

  caf::error check_schema() {
    pg_result res{PQexec(db_.get(), "SELECT version FROM troupe_schema")};
    if (!ok(res.get()))
      return fail(res.get(), "");
    if (PQntuples(res.get()) > 0) {
      std::string version = PQgetvalue(res.get(), 0, 0);
      if (version != std::to_string(schema_version))
        return make_error(errc::persistence_failed,
                          "postgresql journal " + db_.where()
                            + " has schema version " + version
                            + ", this troupe needs "
                            + std::to_string(schema_version));
      return {};
    }
    return exec("INSERT INTO troupe_schema VALUES("
                + std::to_string(schema_version) + ")");
  }

  static bool ok(const PGresult* res) noexcept {
    return pg_connection::ok(res);
  }

  caf::error exec(const std::string& sql) {
    return db_.exec(sql);
  }

  caf::error fail(const PGresult* res, const std::string& pid) {
    return db_.fail(res, pid);
  }

  pg_connection db_;
  bool in_tx_ = false;
};

} // namespace

caf::expected<std::unique_ptr<journal>>
open_postgres_journal(const std::string& conninfo) {
  if (conninfo.empty())
    return make_error(errc::bad_config, "journal: empty PostgreSQL location");
  auto j = std::make_unique<postgres_journal>(conninfo);
  if (auto err = j->open())
    return err;
  return std::unique_ptr<journal>{std::move(j)};
}

} // namespace troupe::persistence
