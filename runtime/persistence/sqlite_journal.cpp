// SPDX-License-Identifier: Apache-2.0
// The SQLite journal: one database file in WAL mode, prepared statements,
// writes checked against the writer epoch inside the same transaction.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>

#include "persistence/journal_checks.hpp"
#include "persistence/sqlite_statement.hpp"
#include "troupe/error.hpp"
#include "troupe/persistence/sql_journals.hpp"

namespace troupe::persistence {

namespace {

using detail::sqlite_statement;

// Events go to a rowid table, in commit order, with a unique index on
// (pid, seq): a batch of many writers then dirties a few table pages and
// small index pages, where a table clustered on (pid, seq) dirtied one large
// page per writer (tools/bench/bench_persistence: 714 WAL pages per
// 1,000-writer commit before, 182 after).
constexpr const char* create_sql = R"sql(
CREATE TABLE IF NOT EXISTS troupe_schema(version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS troupe_ids(
  pid TEXT PRIMARY KEY, epoch INTEGER NOT NULL, highest INTEGER NOT NULL,
  state_revision INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS troupe_events(
  pid TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL,
  payload BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS troupe_events_by_id
  ON troupe_events(pid, seq);
CREATE TABLE IF NOT EXISTS troupe_snapshots(
  pid TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL,
  payload BLOB NOT NULL, PRIMARY KEY(pid, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS troupe_states(
  pid TEXT PRIMARY KEY, revision INTEGER NOT NULL, type TEXT NOT NULL,
  payload BLOB NOT NULL) WITHOUT ROWID;
)sql";

class sqlite_journal final : public journal {
public:
  sqlite_journal(std::string path, bool full_sync)
    : path_(std::move(path)), full_sync_(full_sync) {
  }

  ~sqlite_journal() override {
    close();
  }

  caf::error open() {
    close();
    auto rc = sqlite3_open_v2(path_.c_str(), &db_,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                | SQLITE_OPEN_NOMUTEX,
                              nullptr);
    if (rc != SQLITE_OK)
      return fail("cannot open " + path_);
    // SQLite's own busy handler sleeps up to 100 ms between tries: nodes
    // sharing one file would wait far longer than a commit takes.
    sqlite3_busy_handler(db_, &sqlite_journal::on_busy, nullptr);
    std::string pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=";
    pragmas += full_sync_ ? "FULL;" : "NORMAL;";
    if (auto err = exec(pragmas.c_str()))
      return err;
    if (auto err = exec("BEGIN IMMEDIATE"))
      return err;
    auto err = exec(create_sql);
    if (!err)
      err = check_schema();
    if (err) {
      exec("ROLLBACK");
      return err;
    }
    return exec("COMMIT");
  }

  const char* kind() const noexcept override {
    return "sqlite";
  }

  caf::error begin() override {
    if (in_tx_)
      return make_error(errc::persistence_failed, "transaction already open");
    if (auto err = exec("BEGIN IMMEDIATE"))
      return err;
    in_tx_ = true;
    return {};
  }

  caf::error commit() override {
    if (!in_tx_)
      return {};
    auto err = exec("COMMIT");
    if (err) {
      rollback();
      return err;
    }
    in_tx_ = false;
    return {};
  }

  void rollback() noexcept override {
    if (!in_tx_)
      return;
    in_tx_ = false;
    if (db_ != nullptr && !sqlite3_get_autocommit(db_))
      exec("ROLLBACK");
  }

  caf::expected<uint64_t> take_epoch(const std::string& pid) override {
    return in_tx([&]() -> caf::expected<uint64_t> {
      auto& st = stmt(take_epoch_, "INSERT INTO troupe_ids VALUES(?1,1,0,0) "
                                   "ON CONFLICT(pid) DO UPDATE SET "
                                   "epoch=epoch+1 RETURNING epoch");
      st.bind(1, pid);
      if (!st.step())
        return fail_step(st, pid);
      auto epoch = st.column_u64(0);
      st.reset();
      return epoch;
    });
  }

  caf::expected<uint64_t> current_epoch(const std::string& pid) override {
    auto row = ids_row(pid);
    if (!row)
      return row.error();
    return row->epoch;
  }

  caf::expected<uint64_t> highest_seq(const std::string& pid) override {
    auto row = ids_row(pid);
    if (!row)
      return row.error();
    return row->highest;
  }

  caf::error append(const std::string& pid, uint64_t epoch,
                    const std::vector<record>& events) override {
    auto res = in_tx([&]() -> caf::expected<uint64_t> {
      auto row = ids_row(pid);
      if (!row)
        return row.error();
      if (auto err = detail::check_epoch(pid, row->epoch, epoch))
        return err;
      if (auto err = detail::check_append(pid, row->highest, events))
        return err;
      if (events.empty())
        return 0;
      auto& ins = stmt(insert_event_, "INSERT INTO troupe_events "
                                      "VALUES(?1,?2,?3,?4)");
      for (auto& ev : events) {
        ins.bind(1, pid);
        ins.bind(2, ev.seq);
        ins.bind(3, ev.type);
        ins.bind_blob(4, ev.bytes);
        if (!ins.done())
          return fail_step(ins, pid);
      }
      auto& up = stmt(set_highest_, "UPDATE troupe_ids SET highest=?2 "
                                    "WHERE pid=?1");
      up.bind(1, pid);
      up.bind(2, events.back().seq);
      if (!up.done())
        return fail_step(up, pid);
      return 0;
    });
    return res ? caf::error{} : res.error();
  }

  caf::error replay(const std::string& pid, uint64_t from, uint64_t to,
                    uint64_t max,
                    const std::function<void(record&&)>& fn) override {
    auto& st = stmt(replay_, "SELECT seq, type, payload FROM troupe_events "
                             "WHERE pid=?1 AND seq>=?2 AND seq<=?3 "
                             "ORDER BY seq LIMIT ?4");
    st.bind(1, pid);
    auto clamp = [](uint64_t x) { return std::min(x, uint64_t{INT64_MAX}); };
    st.bind(2, clamp(from));
    st.bind(3, clamp(to));
    st.bind(4, clamp(max));
    while (st.step()) {
      record x;
      x.seq = st.column_u64(0);
      x.type = st.column_text(1);
      x.bytes = st.column_blob(2);
      fn(std::move(x));
    }
    if (st.failed())
      return fail_step(st, pid);
    st.reset();
    return {};
  }

  caf::error delete_events(const std::string& pid, uint64_t to) override {
    auto res = in_tx([&]() -> caf::expected<uint64_t> {
      auto& st = stmt(delete_events_, "DELETE FROM troupe_events "
                                      "WHERE pid=?1 AND seq<=?2");
      st.bind(1, pid);
      st.bind(2, to);
      if (!st.done())
        return fail_step(st, pid);
      return 0;
    });
    return res ? caf::error{} : res.error();
  }

  caf::error save_snapshot(const std::string& pid, uint64_t epoch,
                           const record& snapshot, uint32_t keep) override {
    auto res = in_tx([&]() -> caf::expected<uint64_t> {
      if (auto err = check_epoch(pid, epoch))
        return err;
      auto& ins = stmt(insert_snapshot_, "INSERT OR REPLACE INTO "
                                         "troupe_snapshots VALUES(?1,?2,?3,?4)");
      ins.bind(1, pid);
      ins.bind(2, snapshot.seq);
      ins.bind(3, snapshot.type);
      ins.bind_blob(4, snapshot.bytes);
      if (!ins.done())
        return fail_step(ins, pid);
      auto& trim = stmt(trim_snapshots_,
                        "DELETE FROM troupe_snapshots WHERE pid=?1 AND seq < "
                        "(SELECT MIN(seq) FROM (SELECT seq FROM "
                        "troupe_snapshots WHERE pid=?1 ORDER BY seq DESC "
                        "LIMIT ?2))");
      trim.bind(1, pid);
      trim.bind(2, uint64_t{std::max<uint32_t>(keep, 1)});
      if (!trim.done())
        return fail_step(trim, pid);
      return 0;
    });
    return res ? caf::error{} : res.error();
  }

  caf::expected<std::optional<record>>
  load_snapshot(const std::string& pid) override {
    auto& st = stmt(load_snapshot_, "SELECT seq, type, payload FROM "
                                    "troupe_snapshots WHERE pid=?1 "
                                    "ORDER BY seq DESC LIMIT 1");
    return load_one(st, pid);
  }

  caf::expected<std::optional<record>>
  load_state(const std::string& pid) override {
    auto& st = stmt(load_state_, "SELECT revision, type, payload FROM "
                                 "troupe_states WHERE pid=?1");
    return load_one(st, pid);
  }

  caf::error save_state(const std::string& pid, uint64_t epoch,
                        const record& state) override {
    auto res = in_tx([&]() -> caf::expected<uint64_t> {
      auto row = ids_row(pid);
      if (!row)
        return row.error();
      if (auto err = detail::check_epoch(pid, row->epoch, epoch))
        return err;
      if (auto err = detail::check_revision(pid, row->state_revision,
                                            state.seq))
        return err;
      auto& ins = stmt(save_state_, "INSERT OR REPLACE INTO troupe_states "
                                    "VALUES(?1,?2,?3,?4)");
      ins.bind(1, pid);
      ins.bind(2, state.seq);
      ins.bind(3, state.type);
      ins.bind_blob(4, state.bytes);
      if (!ins.done())
        return fail_step(ins, pid);
      auto& up = stmt(set_revision_, "UPDATE troupe_ids SET "
                                     "state_revision=?2 WHERE pid=?1");
      up.bind(1, pid);
      up.bind(2, state.seq);
      if (!up.done())
        return fail_step(up, pid);
      return 0;
    });
    return res ? caf::error{} : res.error();
  }

  caf::error delete_state(const std::string& pid, uint64_t epoch) override {
    auto res = in_tx([&]() -> caf::expected<uint64_t> {
      if (auto err = check_epoch(pid, epoch))
        return err;
      auto& st = stmt(delete_state_, "DELETE FROM troupe_states WHERE pid=?1");
      st.bind(1, pid);
      if (!st.done())
        return fail_step(st, pid);
      return 0;
    });
    return res ? caf::error{} : res.error();
  }

  caf::error reconnect() override {
    return open();
  }

private:
  /// Waits for another process's transaction: short naps that grow from
  /// 50 us to 2 ms, for at most about 10 s in all.
  static int on_busy(void*, int tries) {
    if (tries >= 5000 + 10)
      return 0;
    auto us = tries < 6 ? 50 << tries : 2000;
    std::this_thread::sleep_for(std::chrono::microseconds{us});
    return 1;
  }

  struct ids {
    uint64_t epoch = 0;
    uint64_t highest = 0;
    uint64_t state_revision = 0;
  };

  caf::expected<ids> ids_row(const std::string& pid) {
    auto& st = stmt(ids_, "SELECT epoch, highest, state_revision FROM "
                          "troupe_ids WHERE pid=?1");
    st.bind(1, pid);
    ids out;
    if (st.step()) {
      out.epoch = st.column_u64(0);
      out.highest = st.column_u64(1);
      out.state_revision = st.column_u64(2);
    } else if (st.failed()) {
      return fail_step(st, pid);
    }
    st.reset();
    return out;
  }

  caf::error check_epoch(const std::string& pid, uint64_t epoch) {
    auto row = ids_row(pid);
    if (!row)
      return row.error();
    return detail::check_epoch(pid, row->epoch, epoch);
  }

  caf::expected<std::optional<record>> load_one(sqlite_statement& st,
                                                const std::string& pid) {
    st.bind(1, pid);
    std::optional<record> out;
    if (st.step()) {
      out.emplace();
      out->seq = st.column_u64(0);
      out->type = st.column_text(1);
      out->bytes = st.column_blob(2);
    } else if (st.failed()) {
      return fail_step(st, pid);
    }
    st.reset();
    return out;
  }

  /// Runs `fn` in the open transaction, or in one of its own.
  template <class F>
  caf::expected<uint64_t> in_tx(F fn) {
    return detail::in_transaction(*this, in_tx_, std::move(fn));
  }

  caf::error check_schema() {
    sqlite_statement st{db_, "SELECT version FROM troupe_schema"};
    if (st.step()) {
      auto version = st.column_u64(0);
      if (version != static_cast<uint64_t>(schema_version))
        return make_error(errc::persistence_failed,
                          "journal " + path_ + " has schema version "
                            + std::to_string(version) + ", this troupe needs "
                            + std::to_string(schema_version));
      return {};
    }
    return exec("INSERT INTO troupe_schema VALUES("
                + std::to_string(schema_version) + ")");
  }

  sqlite_statement& stmt(std::unique_ptr<sqlite_statement>& slot,
                         const char* sql) {
    if (!slot)
      slot = std::make_unique<sqlite_statement>(db_, sql);
    return *slot;
  }

  caf::error exec(const std::string& sql) noexcept {
    char* msg = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg) == SQLITE_OK)
      return {};
    std::string text = msg ? msg : sqlite3_errmsg(db_);
    sqlite3_free(msg);
    return make_error(errc::persistence_failed,
                      "sqlite " + path_ + ": " + text);
  }

  caf::error fail(const std::string& what) {
    std::string text = db_ ? sqlite3_errmsg(db_) : "out of memory";
    return make_error(errc::persistence_failed,
                      "sqlite: " + what + ": " + text);
  }

  caf::error fail_step(sqlite_statement& st, const std::string& pid) {
    auto text = st.error_text();
    st.reset();
    return make_error(errc::persistence_failed,
                      "sqlite " + path_ + ", persistence id '" + pid
                        + "': " + text);
  }

  void close() {
    take_epoch_.reset();
    ids_.reset();
    insert_event_.reset();
    set_highest_.reset();
    replay_.reset();
    delete_events_.reset();
    insert_snapshot_.reset();
    trim_snapshots_.reset();
    load_snapshot_.reset();
    load_state_.reset();
    save_state_.reset();
    set_revision_.reset();
    delete_state_.reset();
    if (db_ != nullptr)
      sqlite3_close_v2(db_);
    db_ = nullptr;
    in_tx_ = false;
  }

  std::string path_;
  bool full_sync_;
  sqlite3* db_ = nullptr;
  bool in_tx_ = false;
  std::unique_ptr<sqlite_statement> take_epoch_, ids_, insert_event_,
    set_highest_, replay_, delete_events_, insert_snapshot_, trim_snapshots_,
    load_snapshot_, load_state_, save_state_, set_revision_, delete_state_;
};

} // namespace

caf::expected<std::unique_ptr<journal>>
open_sqlite_journal(const std::string& location) {
  auto path = location;
  bool full = true;
  if (auto q = path.find('?'); q != std::string::npos) {
    auto opt = path.substr(q + 1);
    path.resize(q);
    if (opt == "synchronous=normal")
      full = false;
    else if (opt != "synchronous=full")
      return make_error(errc::bad_config,
                        "journal: unknown SQLite option '" + opt
                          + "' (synchronous=full or synchronous=normal)");
  }
  if (path.empty())
    return make_error(errc::bad_config, "journal: empty SQLite path");
  auto j = std::make_unique<sqlite_journal>(path, full);
  if (auto err = j->open())
    return err;
  return std::unique_ptr<journal>{std::move(j)};
}

} // namespace troupe::persistence
