// SPDX-License-Identifier: Apache-2.0
// Many ids' appends to PostgreSQL in one round trip (libpq's pipeline mode).
#include "persistence/postgres_pipeline.hpp"

#include "persistence/journal_checks.hpp"
#include "persistence/postgres_sql.hpp"
#include "troupe/error.hpp"

namespace troupe::persistence::detail {

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

caf::error pipeline_appends(pg_connection& c,
                            const std::vector<journal::append_request>& xs,
                            const std::vector<size_t>& idx,
                            std::vector<bool>& done) {
  // Statements are prepared outside the pipeline.
  for (auto i : idx) {
    auto n = xs[i].events->size();
    auto name = "append_" + std::to_string(n);
    if (c.prepared(name))
      continue;
    if (auto failed = c.prepare(name, fast_append_sql(n), fast_types(n)))
      return c.fail(failed.get(), *xs[i].pid, "prepare");
  }
  if (PQenterPipelineMode(c.get()) != 1)
    return c.fail(nullptr, "", "cannot enter pipeline mode");
  caf::error err;
  size_t sent = 0;
  for (auto i : idx) {
    auto& x = xs[i];
    pg_params p;
    fast_params(p, *x.pid, x.epoch, *x.events);
    auto name = "append_" + std::to_string(x.events->size());
    if (PQsendQueryPrepared(c.get(), name.c_str(), p.size(), p.values(),
                            p.lengths(), p.formats(), 1)
        != 1) {
      err = c.fail(nullptr, *x.pid, "send");
      break;
    }
    ++sent;
  }
  if (PQpipelineSync(c.get()) != 1 && !err)
    err = c.fail(nullptr, "", "sync");
  for (size_t k = 0; k < sent; ++k) {
    auto i = idx[k];
    pg_result res{PQgetResult(c.get())};
    if (!pg_connection::ok(res.get())) {
      if (!err)
        err = c.fail(res.get(), *xs[i].pid, "append");
    } else if (std::string{PQcmdTuples(res.get())}
               == std::to_string(xs[i].events->size())) {
      done[i] = true;
    }
    // Each statement's results end with a null result.
    while (pg_result rest{PQgetResult(c.get())})
      ;
  }
  // The sync's own result, then out of pipeline mode.
  for (int guard = 0; guard < 4; ++guard) {
    pg_result res{PQgetResult(c.get())};
    if (res != nullptr && PQresultStatus(res.get()) == PGRES_PIPELINE_SYNC)
      break;
  }
  if (PQexitPipelineMode(c.get()) != 1 && !err)
    err = c.fail(nullptr, "", "pipeline");
  return err;
}

} // namespace troupe::persistence::detail
