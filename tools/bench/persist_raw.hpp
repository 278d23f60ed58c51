// SPDX-License-Identifier: Apache-2.0
// The floors of bench_persistence: the same rows written by hand with the
// SQLite C API (same schema and pragmas as troupe's SQLite journal, no
// writer-epoch check), the disk's fdatasync rate, a temporary directory and
// percentiles.
#pragma once

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "common.hpp"

namespace bench::persist {

/// A fresh directory under /tmp, removed with everything in it at the end.
class temp_dir {
public:
  temp_dir() {
    std::string tmpl = "/tmp/troupe-bench-persist-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  /// A new file name in the directory (not created).
  std::string fresh(const std::string& stem) {
    return path_ + "/" + stem + "-" + std::to_string(++n_) + ".db";
  }

  const std::string& path() const noexcept {
    return path_;
  }

private:
  std::string path_;
  int n_ = 0;
};

/// Deletes an SQLite database with its WAL and shared-memory files.
inline void remove_db(const std::string& path) {
  for (auto suffix : {"", "-wal", "-shm"})
    std::remove((path + suffix).c_str());
}

inline double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

inline double median(std::vector<double> v) {
  return percentile(std::move(v), 0.5);
}

/// One row of the events table.
struct row_data {
  std::string pid;
  uint64_t seq = 0;
  std::string type;
  std::string bytes;
};

/// A connection with prepared statements on troupe's schema.
class raw_sqlite {
public:
  /// `rowid_table` (troupe's schema): events in a rowid table (appended in
  /// commit order) with a unique index on (pid, seq); false: an experiment,
  /// a table clustered on (pid, seq), troupe's first schema.
  raw_sqlite(const std::string& path, bool full, bool rowid_table = true) {
    if (sqlite3_open_v2(path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                          | SQLITE_OPEN_NOMUTEX,
                        nullptr)
        != SQLITE_OK)
      die("open " + path);
    sqlite3_busy_timeout(db_, 10000);
    exec(std::string{"PRAGMA journal_mode=WAL; PRAGMA synchronous="}
         + (full ? "FULL" : "NORMAL"));
    exec("CREATE TABLE IF NOT EXISTS troupe_ids(pid TEXT PRIMARY KEY, "
         "epoch INTEGER NOT NULL, highest INTEGER NOT NULL, state_revision "
         "INTEGER NOT NULL) WITHOUT ROWID;"
         + std::string{rowid_table
                         ? "CREATE TABLE IF NOT EXISTS troupe_events(pid TEXT "
                           "NOT NULL, seq INTEGER NOT NULL, type TEXT NOT "
                           "NULL, payload BLOB NOT NULL); CREATE UNIQUE INDEX "
                           "IF NOT EXISTS troupe_events_id ON "
                           "troupe_events(pid, seq);"
                         : "CREATE TABLE IF NOT EXISTS troupe_events(pid TEXT "
                           "NOT NULL, seq INTEGER NOT NULL, type TEXT NOT "
                           "NULL, payload BLOB NOT NULL, PRIMARY KEY(pid, "
                           "seq)) WITHOUT ROWID;"}
         + 
         "CREATE TABLE IF NOT EXISTS troupe_snapshots(pid TEXT NOT NULL, seq "
         "INTEGER NOT NULL, type TEXT NOT NULL, payload BLOB NOT NULL, "
         "PRIMARY KEY(pid, seq)) WITHOUT ROWID;");
    // Counts the WAL frames (pages) each commit writes; a WAL hook replaces
    // SQLite's auto-checkpoint, so it checkpoints as that one does (PASSIVE
    // at 1,000 frames).
    sqlite3_wal_hook(
      db_,
      [](void* self, sqlite3* db, const char*, int frames) {
        auto* me = static_cast<raw_sqlite*>(self);
        me->frames_ += static_cast<uint64_t>(frames - me->wal_frames_);
        me->wal_frames_ = frames;
        ++me->commits_;
        if (frames >= 1000) {
          sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                    nullptr, nullptr);
          me->wal_frames_ = 0;
        }
        return SQLITE_OK;
      },
      this);
    ins_ = prepare("INSERT INTO troupe_events VALUES(?1,?2,?3,?4)");
    sel_ = prepare("SELECT seq, type, payload FROM troupe_events WHERE "
                   "pid=?1 AND seq>=?2 ORDER BY seq");
    epoch_ = prepare("UPDATE troupe_ids SET epoch=epoch+1 WHERE pid=?1 "
                     "RETURNING epoch, highest");
    snap_ = prepare("SELECT seq, type, payload FROM troupe_snapshots WHERE "
                    "pid=?1 ORDER BY seq DESC LIMIT 1");
  }

  ~raw_sqlite() {
    for (auto* st : {ins_, sel_, epoch_, snap_})
      sqlite3_finalize(st);
    sqlite3_close_v2(db_);
  }

  raw_sqlite(const raw_sqlite&) = delete;
  raw_sqlite& operator=(const raw_sqlite&) = delete;

  void begin() {
    exec("BEGIN IMMEDIATE");
  }

  void commit() {
    exec("COMMIT");
  }

  void insert(const row_data& r) {
    sqlite3_bind_text(ins_, 1, r.pid.data(), static_cast<int>(r.pid.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int64(ins_, 2, static_cast<sqlite3_int64>(r.seq));
    sqlite3_bind_text(ins_, 3, r.type.data(), static_cast<int>(r.type.size()),
                      SQLITE_STATIC);
    sqlite3_bind_blob(ins_, 4, r.bytes.data(),
                      static_cast<int>(r.bytes.size()), SQLITE_STATIC);
    if (sqlite3_step(ins_) != SQLITE_DONE)
      die("insert");
    sqlite3_reset(ins_);
  }

  /// Reads the events of `pid` from `from` on, as the journal's replay does.
  std::vector<row_data> select(const std::string& pid, uint64_t from = 1) {
    std::vector<row_data> out;
    sqlite3_bind_text(sel_, 1, pid.data(), static_cast<int>(pid.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int64(sel_, 2, static_cast<sqlite3_int64>(from));
    while (sqlite3_step(sel_) == SQLITE_ROW)
      out.push_back(read_row(sel_, pid));
    sqlite3_reset(sel_);
    return out;
  }

  /// What a recovery reads and writes, by hand: bump the epoch (reading the
  /// highest sequence number), load the newest snapshot and the events
  /// after it. Call inside a transaction. Returns the events read.
  size_t recover(const std::string& pid) {
    sqlite3_bind_text(epoch_, 1, pid.data(), static_cast<int>(pid.size()),
                      SQLITE_STATIC);
    if (sqlite3_step(epoch_) != SQLITE_ROW)
      die("epoch of " + pid);
    sqlite3_reset(epoch_);
    sqlite3_bind_text(snap_, 1, pid.data(), static_cast<int>(pid.size()),
                      SQLITE_STATIC);
    uint64_t from = 1;
    std::vector<row_data> snap;
    if (sqlite3_step(snap_) == SQLITE_ROW) {
      snap.push_back(read_row(snap_, pid));
      from = snap.back().seq + 1;
    }
    sqlite3_reset(snap_);
    return select(pid, from).size();
  }

  /// Mean WAL pages written per commit since the last call.
  double pages_per_commit() {
    auto out = commits_ > 0 ? static_cast<double>(frames_)
                                / static_cast<double>(commits_)
                            : 0.0;
    frames_ = commits_ = 0;
    return out;
  }

  void exec(const std::string& sql) {
    char* msg = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
      std::string text = msg ? msg : "?";
      sqlite3_free(msg);
      die(sql + ": " + text);
    }
  }

private:
  static row_data read_row(sqlite3_stmt* st, const std::string& pid) {
    row_data r;
    r.pid = pid;
    r.seq = static_cast<uint64_t>(sqlite3_column_int64(st, 0));
    r.type.assign(reinterpret_cast<const char*>(sqlite3_column_text(st, 1)),
                  static_cast<size_t>(sqlite3_column_bytes(st, 1)));
    auto* blob = static_cast<const char*>(sqlite3_column_blob(st, 2));
    r.bytes.assign(blob ? blob : "",
                   static_cast<size_t>(sqlite3_column_bytes(st, 2)));
    return r;
  }

  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
                           nullptr)
        != SQLITE_OK)
      die(std::string{"prepare "} + sql);
    return st;
  }

  [[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "raw sqlite: %s: %s\n", what.c_str(),
                 db_ ? sqlite3_errmsg(db_) : "?");
    std::exit(1);
  }

  sqlite3* db_ = nullptr;
  int wal_frames_ = 0;
  uint64_t frames_ = 0, commits_ = 0;
  sqlite3_stmt* ins_ = nullptr;
  sqlite3_stmt* sel_ = nullptr;
  sqlite3_stmt* epoch_ = nullptr;
  sqlite3_stmt* snap_ = nullptr;
};

/// The disk's floor: `n` times "write 4 KiB, fdatasync" on a preallocated
/// 1 MiB file in `dir` (overwriting in a ring, as a WAL does after a
/// checkpoint). Returns the latencies in microseconds.
inline std::vector<double> fdatasync_loop(const std::string& dir, uint64_t n) {
  auto path = dir + "/fdatasync.bin";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    throw std::runtime_error("cannot create " + path);
  std::vector<char> block(4096, 'x');
  for (int i = 0; i < 256; ++i)
    if (::write(fd, block.data(), block.size()) != 4096)
      throw std::runtime_error("write failed");
  ::fsync(fd);
  std::vector<double> lat;
  lat.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    auto t0 = clock::now();
    auto off = static_cast<off_t>((i % 256) * 4096);
    if (::pwrite(fd, block.data(), block.size(), off) != 4096
        || ::fdatasync(fd) != 0)
      throw std::runtime_error("pwrite/fdatasync failed");
    lat.push_back(seconds_since(t0) * 1e6);
  }
  ::close(fd);
  std::remove(path.c_str());
  return lat;
}

} // namespace bench::persist
