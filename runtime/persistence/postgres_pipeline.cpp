// SPDX-License-Identifier: Apache-2.0
// Many ids' appends to PostgreSQL in one round trip (libpq's pipeline mode).
#include "persistence/postgres_pipeline.hpp"

#include "persistence/journal_checks.hpp"
#include "persistence/postgres_sql.hpp"
#include "troupe/error.hpp"

namespace troupe::persistence::detail {

namespace {

bool ok(const PGresult* res) noexcept {
  if (res == nullptr)
    return false;
  auto st = PQresultStatus(res);
  return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

caf::error failed(const pipeline_conn& c, const char* what,
                  const PGresult* res, const std::string& pid = {}) {
  auto msg = res != nullptr && PQresultErrorMessage(res)[0] != '\0'
               ? pg_one_line(PQresultErrorMessage(res))
               : pg_one_line(PQerrorMessage(c.conn));
  std::string text = "postgresql journal " + c.where;
  if (!pid.empty())
    text += ", persistence id '" + pid + "'";
  return make_error(pg_failure_code(res), text + ": " + what + ": " + msg);
}

} // namespace

bool fast_eligible(const std::string& pid, const std::vector<record>& events) {
  return !events.empty() && events.size() <= max_fast_events
         && events.front().seq > 0
         && !check_append(pid, events.front().seq - 1, events);
}

std::vector<Oid> fast_types(size_t n) {
  std::vector<Oid> types{pg_text, pg_int8, pg_int8, pg_int8};
  for (size_t i = 0; i < n; ++i)
    types.insert(types.end(), {pg_int8, pg_text, pg_bytea});
  return types;
}

void fast_params(pg_params& p, const std::string& pid, uint64_t epoch,
                 const std::vector<record>& events) {
  p.add(pid);
  p.add(epoch);
  p.add(events.front().seq - 1);
  p.add(events.back().seq);
  for (auto& ev : events) {
    p.add(ev.seq);
    p.add(ev.type);
    p.add(ev.bytes);
  }
}

caf::error pipeline_appends(pipeline_conn c,
                            const std::vector<journal::append_request>& xs,
                            const std::vector<size_t>& idx,
                            std::vector<bool>& done) {
  // Statements are prepared outside the pipeline.
  for (auto i : idx) {
    auto n = xs[i].events->size();
    auto name = "append_" + std::to_string(n);
    if (c.prepared.count(name) != 0)
      continue;
    auto types = fast_types(n);
    pg_result prep{PQprepare(c.conn, name.c_str(), fast_append_sql(n).c_str(),
                             static_cast<int>(types.size()), types.data())};
    if (!ok(prep.get()))
      return failed(c, "prepare", prep.get(), *xs[i].pid);
    c.prepared.insert(name);
  }
  if (PQenterPipelineMode(c.conn) != 1)
    return failed(c, "cannot enter pipeline mode", nullptr);
  caf::error err;
  size_t sent = 0;
  for (auto i : idx) {
    auto& x = xs[i];
    pg_params p;
    fast_params(p, *x.pid, x.epoch, *x.events);
    auto name = "append_" + std::to_string(x.events->size());
    if (PQsendQueryPrepared(c.conn, name.c_str(), p.size(), p.values(),
                            p.lengths(), p.formats(), 1)
        != 1) {
      err = failed(c, "send", nullptr, *x.pid);
      break;
    }
    ++sent;
  }
  if (PQpipelineSync(c.conn) != 1 && !err)
    err = failed(c, "sync", nullptr);
  for (size_t k = 0; k < sent; ++k) {
    auto i = idx[k];
    pg_result res{PQgetResult(c.conn)};
    if (!ok(res.get())) {
      if (!err)
        err = failed(c, "append", res.get(), *xs[i].pid);
    } else if (std::string{PQcmdTuples(res.get())}
               == std::to_string(xs[i].events->size())) {
      done[i] = true;
    }
    // Each statement's results end with a null result.
    while (pg_result rest{PQgetResult(c.conn)})
      ;
  }
  // The sync's own result, then out of pipeline mode.
  for (int guard = 0; guard < 4; ++guard) {
    pg_result res{PQgetResult(c.conn)};
    if (res != nullptr && PQresultStatus(res.get()) == PGRES_PIPELINE_SYNC)
      break;
  }
  if (PQexitPipelineMode(c.conn) != 1 && !err)
    err = failed(c, "pipeline", nullptr);
  return err;
}

} // namespace troupe::persistence::detail
