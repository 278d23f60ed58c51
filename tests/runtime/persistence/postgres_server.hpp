// SPDX-License-Identifier: Apache-2.0
// A throwaway PostgreSQL server for tests and benchmarks: Debian's server
// binaries on a free 127.0.0.1 port in a fresh temporary directory.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace troupe::test {

/// Owns one PostgreSQL server: `initdb` into a fresh temporary directory,
/// `postgres` on a port the OS chose, stopped (by its PID) and removed by
/// the destructor. When the process runs as root the server runs as the
/// `postgres` system user and dies with the thread that started it
/// (PR_SET_PDEATHSIG). The superuser is `troupe`, trusted without password.
///
/// Failures throw `std::runtime_error` with one text that includes the tail
/// of the server's log.
class postgres_server {
public:
  struct options {
    /// Extra `-c name=value` settings, e.g. "fsync=off".
    std::vector<std::string> settings;
    /// Bound on waiting for the server to accept connections.
    int ready_timeout_ms = 30000;
  };

  postgres_server();
  explicit postgres_server(options opts);
  ~postgres_server();

  postgres_server(const postgres_server&) = delete;
  postgres_server& operator=(const postgres_server&) = delete;

  /// The directory of `initdb` and `postgres` (the newest of
  /// /usr/lib/postgresql/*/bin, or $TROUPE_PG_BINDIR), empty if none.
  static std::filesystem::path find_bin_dir();

  /// One server per process, started on first use (from the main thread,
  /// since the server dies with the thread that started it).
  static postgres_server& shared();

  int port() const noexcept {
    return port_;
  }

  bool running() const noexcept {
    return pid_ > 0;
  }

  /// `postgresql://troupe@127.0.0.1:PORT/DBNAME`.
  std::string conninfo(const std::string& dbname = "postgres") const;

  /// The same over the Unix-domain socket in the server's directory
  /// (faster for local benchmarks).
  std::string socket_conninfo(const std::string& dbname = "postgres") const;

  /// Creates database `name` (dropping one of that name first) and returns
  /// its conninfo.
  std::string create_database(const std::string& name);

  /// A fresh database with a unique name (`prefix` plus a counter).
  std::string fresh_database(const std::string& prefix = "t");

  /// Runs `sql` in database `dbname` as the superuser; throws on failure.
  void exec(const std::string& dbname, const std::string& sql) const;

  /// Stops the server (SIGINT, fast shutdown; SIGKILL after 10 s), keeping
  /// its data for `start()`.
  void stop();

  /// Starts the (stopped) server again on the same port.
  void start();

  /// The last `lines` lines of the server's log.
  std::string log_tail(size_t lines = 20) const;

private:
  void init_db();
  bool try_start(); // false: the port was taken, pick another
  pid_t spawn(const std::vector<std::string>& argv) const;

  options opts_;
  std::filesystem::path bin_;
  std::filesystem::path dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool as_postgres_ = false;
  unsigned uid_ = 0;
  unsigned gid_ = 0;
  int next_db_ = 0;
};

} // namespace troupe::test
