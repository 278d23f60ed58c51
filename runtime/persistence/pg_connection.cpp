// SPDX-License-Identifier: Apache-2.0
#include "persistence/pg_connection.hpp"

#include "troupe/error.hpp"

namespace troupe::persistence::detail {

caf::error pg_connection::connect() {
  close();
  const char* keys[] = {"connect_timeout", "application_name", "dbname",
                        nullptr};
  const char* vals[] = {"10", "troupe", dbname_.c_str(), nullptr};
  conn_ = PQconnectdbParams(keys, vals, 1);
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
    auto msg = pg_one_line(conn_ ? PQerrorMessage(conn_) : "out of memory");
    close();
    return make_error(errc::persistence_failed,
                      "postgresql journal: cannot connect: " + msg);
  }
  // NOTICEs (e.g. "relation already exists, skipping") are no news.
  PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
  where_ = std::string{PQuser(conn_)} + "@" + PQhost(conn_) + ":"
           + PQport(conn_) + "/" + PQdb(conn_);
  return {};
}

void pg_connection::close() {
  if (conn_ != nullptr)
    PQfinish(conn_);
  conn_ = nullptr;
  prepared_.clear();
}

pg_result pg_connection::prepare(const std::string& name,
                                 const std::string& sql,
                                 const std::vector<Oid>& types) {
  if (prepared_.count(name) != 0)
    return nullptr;
  pg_result prep{PQprepare(conn_, name.c_str(), sql.c_str(),
                           static_cast<int>(types.size()), types.data())};
  if (!ok(prep.get()))
    return prep;
  prepared_.insert(name);
  return nullptr;
}

pg_result pg_connection::run(const char* name, const std::string& sql,
                             const pg_params& p,
                             const std::vector<Oid>& types) {
  if (conn_ == nullptr)
    return nullptr;
  if (auto failed = prepare(name, sql, types))
    return failed;
  return pg_result{PQexecPrepared(conn_, name, p.size(), p.values(),
                                  p.lengths(), p.formats(), 1)};
}

caf::error pg_connection::exec(const std::string& sql) {
  if (conn_ == nullptr)
    return fail(nullptr, "");
  pg_result res{PQexec(conn_, sql.c_str())};
  return ok(res.get()) ? caf::error{} : fail(res.get(), "");
}

caf::error pg_connection::fail(const PGresult* res, const std::string& pid,
                               const char* what) const {
  std::string msg;
  if (conn_ == nullptr)
    msg = "not connected (reconnect first)";
  else if (res != nullptr && PQresultErrorMessage(res)[0] != '\0')
    msg = pg_one_line(PQresultErrorMessage(res));
  else
    msg = pg_one_line(PQerrorMessage(conn_));
  std::string text = "postgresql journal " + where_;
  if (!pid.empty())
    text += ", persistence id '" + pid + "'";
  if (what != nullptr)
    text += std::string{": "} + what;
  return make_error(pg_failure_code(res), text + ": " + msg);
}

} // namespace troupe::persistence::detail
