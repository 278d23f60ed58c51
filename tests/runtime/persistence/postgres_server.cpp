// SPDX-License-Identifier: Apache-2.0
// Starting, waiting for and stopping a throwaway PostgreSQL server.
#include "runtime/persistence/postgres_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <thread>

#include "loopback.hpp"

namespace troupe::test {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

/// Waits up to `ms` for `pid` to exit; its status, or -1 if still running.
int wait_exit(pid_t pid, int ms) {
  auto deadline = clock_type::now() + std::chrono::milliseconds(ms);
  for (;;) {
    int status = 0;
    auto rc = ::waitpid(pid, &status, WNOHANG);
    if (rc == pid || (rc < 0 && errno == ECHILD))
      return status;
    if (clock_type::now() >= deadline)
      return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string read_file(const fs::path& path) {
  std::ifstream in{path};
  return std::string{std::istreambuf_iterator<char>{in}, {}};
}

struct conn_deleter {
  void operator()(PGconn* c) const noexcept {
    PQfinish(c);
  }
};

} // namespace

postgres_server::postgres_server() : postgres_server(options{}) {
}

postgres_server::postgres_server(options opts) : opts_(std::move(opts)) {
  bin_ = find_bin_dir();
  if (bin_.empty())
    throw std::runtime_error("postgres_server: no PostgreSQL server binaries "
                             "in /usr/lib/postgresql/*/bin");
  as_postgres_ = ::geteuid() == 0;
  if (as_postgres_) {
    auto* pw = ::getpwnam("postgres");
    if (pw == nullptr)
      throw std::runtime_error("postgres_server: running as root, but there "
                               "is no 'postgres' user to run the server as");
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
  }
  // As root, the server user must reach the directory: /tmp, not $TMPDIR.
  auto base = as_postgres_ ? fs::path{"/tmp"} : fs::temp_directory_path();
  std::string buf = (base / "troupe-pg-XXXXXX").string();
  if (::mkdtemp(buf.data()) == nullptr)
    throw std::runtime_error("postgres_server: cannot create a directory in "
                             + base.string());
  dir_ = buf;
  try {
    if (as_postgres_ && ::chown(dir_.c_str(), uid_, gid_) != 0)
      throw std::runtime_error("postgres_server: cannot chown "
                               + dir_.string() + " to postgres");
    init_db();
    start();
  } catch (...) {
    stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
    throw;
  }
}

postgres_server::~postgres_server() {
  stop();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

fs::path postgres_server::find_bin_dir() {
  auto usable = [](const fs::path& dir) {
    return ::access((dir / "initdb").c_str(), X_OK) == 0
           && ::access((dir / "postgres").c_str(), X_OK) == 0;
  };
  if (const char* env = std::getenv("TROUPE_PG_BINDIR"); env && *env)
    return usable(env) ? fs::path{env} : fs::path{};
  fs::path best;
  int best_version = -1;
  std::error_code ec;
  for (auto& entry : fs::directory_iterator{"/usr/lib/postgresql", ec}) {
    auto name = entry.path().filename().string();
    auto version = std::atoi(name.c_str());
    if (version > best_version && usable(entry.path() / "bin")) {
      best_version = version;
      best = entry.path() / "bin";
    }
  }
  return best;
}

postgres_server& postgres_server::shared() {
  static postgres_server server{options{{"fsync=off"}, 30000}};
  return server;
}

std::string postgres_server::conninfo(const std::string& dbname) const {
  return "postgresql://troupe@127.0.0.1:" + std::to_string(port_) + "/"
         + dbname;
}

std::string postgres_server::socket_conninfo(const std::string& dbname) const {
  return "postgresql://troupe@/" + dbname + "?host=" + dir_.string()
         + "&port=" + std::to_string(port_);
}

void postgres_server::exec(const std::string& dbname,
                           const std::string& sql) const {
  std::unique_ptr<PGconn, conn_deleter> conn{
    PQconnectdb(conninfo(dbname).c_str())};
  if (PQstatus(conn.get()) != CONNECTION_OK)
    throw std::runtime_error("postgres_server: cannot connect to "
                             + conninfo(dbname) + ": "
                             + PQerrorMessage(conn.get()));
  PQsetNoticeProcessor(conn.get(), [](void*, const char*) {}, nullptr);
  auto* res = PQexec(conn.get(), sql.c_str());
  auto st = PQresultStatus(res);
  std::string msg = PQresultErrorMessage(res);
  PQclear(res);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
    throw std::runtime_error("postgres_server: '" + sql + "' failed: " + msg);
}

std::string postgres_server::create_database(const std::string& name) {
  std::string quoted = "\"" + name + "\"";
  exec("postgres", "DROP DATABASE IF EXISTS " + quoted);
  exec("postgres", "CREATE DATABASE " + quoted);
  return conninfo(name);
}

std::string postgres_server::fresh_database(const std::string& prefix) {
  return create_database(prefix + "_" + std::to_string(++next_db_));
}

void postgres_server::init_db() {
  auto pid = spawn({(bin_ / "initdb").string(), "-D",
                    (dir_ / "data").string(), "-A", "trust", "-U", "troupe",
                    "-E", "UTF8", "--locale=C", "--no-sync",
                    "--no-instructions"});
  auto status = wait_exit(pid, opts_.ready_timeout_ms);
  if (status < 0) {
    ::kill(pid, SIGKILL);
    wait_exit(pid, 1000);
    throw std::runtime_error("postgres_server: initdb did not finish in time: "
                             + log_tail());
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("postgres_server: initdb failed: " + log_tail());
}

void postgres_server::start() {
  if (running())
    return;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (port_ == 0 || attempt > 0)
      port_ = free_loopback_port("postgres_server");
    if (try_start())
      return;
  }
  throw std::runtime_error("postgres_server: no free port after 5 attempts: "
                           + log_tail());
}

bool postgres_server::try_start() {
  std::vector<std::string> argv{(bin_ / "postgres").string(),
                                "-D",
                                (dir_ / "data").string(),
                                "-p",
                                std::to_string(port_),
                                "-h",
                                "127.0.0.1",
                                "-k",
                                dir_.string()};
  for (auto& setting : opts_.settings) {
    argv.emplace_back("-c");
    argv.push_back(setting);
  }
  auto log_size = fs::exists(dir_ / "server.log")
                    ? fs::file_size(dir_ / "server.log")
                    : uintmax_t{0};
  pid_ = spawn(argv);
  auto info = conninfo("postgres");
  auto deadline = clock_type::now()
                  + std::chrono::milliseconds(opts_.ready_timeout_ms);
  while (clock_type::now() < deadline) {
    if (PQping(info.c_str()) == PQPING_OK)
      return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      auto log = read_file(dir_ / "server.log").substr(log_size);
      if (log.find("could not bind") != std::string::npos
          || log.find("already in use") != std::string::npos)
        return false;
      throw std::runtime_error("postgres_server: postgres exited during "
                               "start-up: "
                               + log_tail());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop();
  throw std::runtime_error("postgres_server: not ready after "
                           + std::to_string(opts_.ready_timeout_ms)
                           + " ms: " + log_tail());
}

void postgres_server::stop() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGINT); // fast shutdown: abort transactions, disconnect
  if (wait_exit(pid_, 10000) < 0) {
    ::kill(pid_, SIGKILL);
    wait_exit(pid_, 5000);
  }
  pid_ = -1;
}

std::string postgres_server::log_tail(size_t lines) const {
  std::ifstream in{dir_ / "server.log"};
  std::deque<std::string> tail;
  for (std::string line; std::getline(in, line);) {
    tail.push_back(line);
    if (tail.size() > lines)
      tail.pop_front();
  }
  std::string out = "server log " + (dir_ / "server.log").string() + ":";
  for (auto& line : tail)
    out += "\n  " + line;
  return out;
}

pid_t postgres_server::spawn(const std::vector<std::string>& args) const {
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls.
  std::vector<char*> argv;
  for (auto& arg : args)
    argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  auto log = (dir_ / "server.log").string();
  auto parent = ::getpid();
  auto max_fd = std::min<long>(::sysconf(_SC_OPEN_MAX), 65536);
  auto pid = ::fork();
  if (pid < 0)
    throw std::runtime_error("postgres_server: fork failed");
  if (pid > 0)
    return pid;
  if (as_postgres_) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(gid_) != 0
        || ::setuid(uid_) != 0)
      ::_exit(126);
  }
  // After setuid, which clears the death signal: the child dies with the
  // thread that forked it.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent)
    ::_exit(125);
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd < 0)
    ::_exit(124);
  ::dup2(fd, STDOUT_FILENO);
  ::dup2(fd, STDERR_FILENO);
  int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd >= 0)
    ::dup2(null_fd, STDIN_FILENO);
  for (long i = 3; i < max_fd; ++i)
    ::close(static_cast<int>(i));
  ::execv(argv[0], argv.data());
  ::_exit(127);
}

} // namespace troupe::test
