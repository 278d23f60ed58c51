// SPDX-License-Identifier: Apache-2.0
// Persistent actors on the SQLite journal, each figure next to raw SQLite
// doing the same inserts or reads by hand in the same run (same schema, same
// pragmas, no writer-epoch check, no actors), as a ratio troupe / raw.
// Databases live in a fresh directory under /tmp, removed at the end.
//
// single   one counter, a driver requests (add, 1) and waits for each answer
//          (answered after the commit): events/s, p50/p99 latency, with
//          synchronous=FULL. Raw: BEGIN IMMEDIATE, one INSERT, COMMIT per
//          event. Beside them the disk's floor: write 4 KiB + fdatasync.
// many     1,000 counters (--actors N) each persisting --per-actor events
//          (default 50) one after the other (the next when the previous
//          was acknowledged), FULL; the journal service's mean batch.
//          Raw: the same rows in transactions of 64, 256 and 1000; the best.
// replay   recovery of one id with 100,000 events (--replay N): spawn until
//          the first answer; raw: SELECT of the same rows. Recovery from a
//          snapshot (1,000 events, snapshot, 10 more): p50 of spawn until the
//          first answer; raw: the same epoch bump and reads in a FULL
//          transaction. 10,000 counters of 10 events (--recover N) spawned at
//          once until all answered; raw: the same in transactions of 1,000.
// epoch    journal::append with its writer-epoch check (and the highest
//          sequence number update) vs raw INSERTs of the same rows, 64 rows
//          per transaction: 64 ids x 1 event (one check per event, as a
//          group-committed batch of 64 jobs), NORMAL and FULL; and 1 id x 64.
// pg       the PostgreSQL variant of `many`, against raw libpq inserting the
//          same rows in multi-row INSERTs of 64, 256, 1000 (one statement,
//          one transaction each): on --pg CONNINFO, or with --pg start (or
//          the part name pg given) on a throwaway server started by the
//          tests' postgres_server fixture. Skipped with a note otherwise.
// Flags: --quick (a few seconds), --reps N (default 3, quick 1), --payload N
// (event payload bytes, 64), --set KEY=VALUE (CAF settings; default the
// node's scheduler defaults), names of parts to run only those.
// Output: "name: troupe X, raw Y, ratio Z" lines, ROW| lines for
// run_all.sh, and the aims with "met" / "NOT met".
#include <functional>
#include <numeric>

#include "persist_pg.hpp"
#include "persist_troupe.hpp"
#include "runtime/persistence/postgres_server.hpp"

namespace {

using namespace bench::persist;
using bench::clock;
using bench::seconds_since;

struct aim {
  std::string text;
  double value;
  bool met;
};

std::vector<aim> aims;

void check_aim(const std::string& text, double value, bool met) {
  aims.push_back({text, value, met});
}

/// Prints a human line and a ROW line (ratio = troupe / raw).
void report(const std::string& name, const std::string& unit, double t,
            double r, const char* fmt = "%.0f") {
  char ts[64], rs[64];
  std::snprintf(ts, sizeof(ts), fmt, t);
  std::snprintf(rs, sizeof(rs), fmt, r);
  std::printf("%s: troupe %s %s, raw %s %s, ratio %.2f\n", name.c_str(), ts,
              unit.c_str(), rs, unit.c_str(), r > 0 ? t / r : 0.0);
  bench::row(name + " [" + unit + "]", t, r, fmt);
}

/// Runs troupe `f` and raw `g` `reps` times each, alternating which goes
/// first; returns every result.
template <class T, class F, class G>
std::pair<std::vector<T>, std::vector<T>> alternate(int reps, F f, G g) {
  std::vector<T> a, b;
  for (int i = 0; i < reps; ++i) {
    if (i % 2 == 0) {
      a.push_back(f());
      b.push_back(g());
    } else {
      b.push_back(g());
      a.push_back(f());
    }
  }
  return {a, b};
}

template <class T>
double med(const std::vector<T>& xs, double T::*field) {
  std::vector<double> v;
  for (auto& x : xs)
    v.push_back(x.*field);
  return median(v);
}

std::vector<bench::persist::row_data>
round_robin_rows(uint64_t actors, uint64_t per_actor, const std::string& data) {
  auto ev = make_event(data);
  std::vector<row_data> rows;
  rows.reserve(actors * per_actor);
  for (uint64_t seq = 1; seq <= per_actor; ++seq)
    for (uint64_t i = 0; i < actors; ++i) {
      auto rec = tp::detail::encode_record(seq, ev);
      rows.push_back({pid_of("w" + std::to_string(i)), seq, rec.type,
                      std::move(rec.bytes)});
    }
  return rows;
}

/// WAL pages per commit of the last `raw_batches`.
double last_pages = 0;

/// Raw: `rows` in transactions of `batch`; rows/s.
double raw_batches(const std::string& path, bool full,
                   const std::vector<row_data>& rows, size_t batch,
                   bool rowid_table = false) {
  raw_sqlite db{path, full, rowid_table};
  db.pages_per_commit();
  auto t0 = clock::now();
  for (size_t i = 0; i < rows.size(); i += batch) {
    db.begin();
    for (size_t k = i; k < std::min(rows.size(), i + batch); ++k)
      db.insert(rows[k]);
    db.commit();
  }
  auto rate = static_cast<double>(rows.size()) / seconds_since(t0);
  last_pages = db.pages_per_commit();
  return rate;
}

} // namespace

int main(int argc, char** argv) {
  auto opts = bench::parse_options(argc, argv, 1);
  bool reps_given = false;
  for (int i = 1; i < argc; ++i)
    reps_given = reps_given || std::string{argv[i]} == "--reps";
  int reps = reps_given ? opts.reps : (opts.quick ? 1 : 3);
  auto flag = [&](const char* name, uint64_t full, uint64_t quick) {
    for (size_t i = 0; i + 1 < opts.args.size(); ++i)
      if (opts.args[i] == name)
        return static_cast<uint64_t>(std::stoull(opts.args[i + 1]));
    return opts.quick ? quick : full;
  };
  std::string pg;
  for (size_t i = 0; i + 1 < opts.args.size(); ++i)
    if (opts.args[i] == "--pg")
      pg = opts.args[i + 1];
  auto has = [&](const char* x) {
    return std::find(opts.args.begin(), opts.args.end(), x) != opts.args.end();
  };
  auto wants = [&](const char* part) {
    return has(part)
           || !(has("single") || has("many") || has("replay") || has("epoch")
                || has("pg"));
  };
  auto settings = opts.settings;
  if (settings.empty())
    settings = {{"scheduler.max-threads",
                 std::to_string(bench::node_default_threads())},
                {"work-stealing.moderate-sleep-duration", "0"},
                {"scheduler.max-throughput", "100"}};
  auto data = std::make_shared<const std::string>(flag("--payload", 64, 64),
                                                  'p');
  temp_dir dir;
  std::printf("bench_persistence: databases in %s (%s), %d rep(s), median "
              "reported, %zu-byte payloads, %s\n",
              dir.path().c_str(), opts.quick ? "quick" : "full", reps,
              data->size(), bench::describe(settings).c_str());
  std::fflush(stdout);

  if (wants("single")) {
    auto n = flag("--single", 400, 40);
    auto [t, r] = alternate<latency_run>(
      reps,
      [&] {
        auto path = dir.fresh("single");
        auto out = with_journal(settings, path,
                                [&](caf::actor_system& sys, tp::journal_service&) {
                                  return single_troupe(sys, n, data);
                                });
        remove_db(path);
        return out;
      },
      [&] {
        auto path = dir.fresh("single-raw");
        latency_run out;
        {
          raw_sqlite db{path, true};
          auto rows = round_robin_rows(1, n, *data);
          std::vector<double> lat;
          auto t0 = clock::now();
          for (auto& row : rows) {
            auto t1 = clock::now();
            db.begin();
            db.insert(row);
            db.commit();
            lat.push_back(seconds_since(t1) * 1e6);
          }
          out = latency_run{static_cast<double>(n) / seconds_since(t0),
                 percentile(lat, 0.5), percentile(lat, 0.99)};
        }
        remove_db(path);
        return out;
      });
    auto lat = fdatasync_loop(dir.path(), n);
    double sync_rate = 1e6 / (std::accumulate(lat.begin(), lat.end(), 0.0)
                              / static_cast<double>(lat.size()));
    auto name = "single actor persist-and-wait, SQLite FULL, "
                + std::to_string(n) + " events";
    report(name, "events/s", med(t, &latency_run::rate),
           med(r, &latency_run::rate));
    report(name + ", p50 latency (lower is better)", "us",
           med(t, &latency_run::p50_us), med(r, &latency_run::p50_us), "%.0f");
    report(name + ", p99 latency (lower is better)", "us",
           med(t, &latency_run::p99_us), med(r, &latency_run::p99_us), "%.0f");
    std::printf("disk floor (write 4 KiB + fdatasync, same directory): %.0f/s, "
                "p50 %.0f us, p99 %.0f us; troupe reaches %.2f of it\n",
                sync_rate, percentile(lat, 0.5), percentile(lat, 0.99),
                med(t, &latency_run::rate) / sync_rate);
  }

  auto many_part = [&](const std::string& label, const std::string& where_base,
                       double aim_rate, std::function<double(size_t)> raw,
                       std::function<void()> reset = nullptr) {
    auto actors = flag("--actors", 1000, 200);
    auto per = flag("--per-actor", 50, 10);
    std::vector<many_run> t;
    std::vector<double> best;
    std::vector<std::vector<double>> per_batch(3), pages(3);
    const size_t sizes[] = {64, 256, 1000};
    for (int i = 0; i < reps; ++i) {
      auto run_troupe = [&] {
        if (reset)
          reset();
        auto where = where_base.empty() ? dir.fresh("many") : where_base;
        t.push_back(with_journal(
          settings, where, [&](caf::actor_system& sys, tp::journal_service& svc) {
            return many_troupe(sys, svc, actors, per, data);
          }));
        if (where_base.empty())
          remove_db(where);
      };
      auto run_raw = [&] {
        double b = 0;
        for (size_t k = 0; k < 3; ++k) {
          per_batch[k].push_back(raw(sizes[k]));
          pages[k].push_back(last_pages);
          b = std::max(b, per_batch[k].back());
        }
        best.push_back(b);
      };
      if (i % 2 == 0) {
        run_troupe();
        run_raw();
      } else {
        run_raw();
        run_troupe();
      }
    }
    auto name = label + ", " + std::to_string(actors) + " actors x "
                + std::to_string(per) + " events";
    auto rate = med(t, &many_run::rate), raw_best = median(best);
    report(name + " (raw: best of 64/256/1000 rows per transaction)",
           "events/s", rate, raw_best);
    if (where_base.empty()) // SQLite: WAL pages per commit counted
      std::printf("  raw per batch size: 64 -> %.0f/s (%.0f WAL pages/commit), "
                  "256 -> %.0f/s (%.0f), 1000 -> %.0f/s (%.0f)\n",
                  median(per_batch[0]), median(pages[0]),
                  median(per_batch[1]), median(pages[1]),
                  median(per_batch[2]), median(pages[2]));
    else
      std::printf("  raw per batch size: 64 -> %.0f/s, 256 -> %.0f/s, 1000 -> "
                  "%.0f/s\n",
                  median(per_batch[0]), median(per_batch[1]),
                  median(per_batch[2]));
    std::printf("  journal service mean batch %.1f jobs (max %llu)\n",
                med(t, &many_run::mean_batch),
                static_cast<unsigned long long>(t.back().max_batch));
    check_aim(label + " >= " + std::to_string(static_cast<int>(aim_rate))
                + " events/s",
              rate, rate >= aim_rate);
    check_aim(label + " >= 0.8x raw best batch rate", rate / raw_best,
              rate >= 0.8 * raw_best);
  };

  if (wants("many")) {
    auto actors = flag("--actors", 1000, 200);
    auto per = flag("--per-actor", 50, 10);
    auto rows = round_robin_rows(actors, per, *data);
    many_part("1000 actors persisting at once, SQLite FULL", "", 40000,
              [&](size_t batch) {
                auto path = dir.fresh("many-raw");
                auto r = raw_batches(path, true, rows, batch);
                remove_db(path);
                return r;
              });
    // Not troupe's schema (its first one): a table clustered on (pid, seq).
    std::vector<double> alt, alt_pages;
    for (int i = 0; i < reps; ++i) {
      auto path = dir.fresh("many-clustered");
      alt.push_back(raw_batches(path, true, rows, 1000, false));
      alt_pages.push_back(last_pages);
      remove_db(path);
    }
    std::printf("  experiment, raw only: the same rows in a table clustered "
                "on (pid, seq) (troupe's first schema), 1000 per transaction: "
                "%.0f/s (%.0f WAL pages/commit)\n",
                median(alt), median(alt_pages));
  }

  if (wants("replay")) {
    // One id with many events: events/s recovered.
    auto n = flag("--replay", 100000, 10000);
    auto path = dir.fresh("replay");
    prefill(path, {"replay"}, n, 0, *data);
    auto [t, r] = alternate<double>(
      reps,
      [&] {
        return with_journal(settings, path,
                            [&](caf::actor_system& sys, tp::journal_service&) {
                              auto tr = std::make_shared<tracker>();
                              auto t0 = clock::now();
                              auto cs = spawn_counters(sys, {"replay"}, data, tr);
                              auto secs = seconds_since(t0);
                              if (tr->seen != n)
                                die("replay: recovered a wrong state");
                              stop_all(cs);
                              return static_cast<double>(n) / secs;
                            });
      },
      [&] {
        raw_sqlite db{path, true};
        auto t0 = clock::now();
        auto rows = db.select(pid_of("replay"));
        auto secs = seconds_since(t0);
        if (rows.size() != n)
          die("raw replay: wrong row count");
        return static_cast<double>(n) / secs;
      });
    auto rate = median(t);
    report("replay of one id with " + std::to_string(n)
             + " events, spawn to first answer (raw: SELECT of the rows)",
           "events/s", rate, median(r));
    check_aim("replay >= 100000 events/s", rate, rate >= 100000);
    remove_db(path);

    // Recovery from a snapshot: 1,000 events, a snapshot, 10 more.
    auto k = flag("--snap-recoveries", 50, 10);
    path = dir.fresh("snapshot");
    prefill(path, {"snap"}, 1010, 1000, *data);
    auto [ts, rs] = alternate<double>(
      reps,
      [&] {
        return with_journal(
          settings, path, [&](caf::actor_system& sys, tp::journal_service&) {
            std::vector<double> lat;
            auto tr = std::make_shared<tracker>();
            for (uint64_t i = 0; i < k; ++i) {
              auto t0 = clock::now();
              auto cs = spawn_counters(sys, {"snap"}, data, tr);
              lat.push_back(seconds_since(t0) * 1e3);
              if (tr->seen != 1010)
                die("snapshot recovery: wrong state");
              stop_all(cs);
            }
            return median(lat);
          });
      },
      [&] {
        raw_sqlite db{path, true};
        std::vector<double> lat;
        for (uint64_t i = 0; i < k; ++i) {
          auto t0 = clock::now();
          db.begin();
          if (db.recover(pid_of("snap")) != 10)
            die("raw snapshot recovery: wrong row count");
          db.commit();
          lat.push_back(seconds_since(t0) * 1e3);
        }
        return median(lat);
      });
    auto p50 = median(ts);
    report("recovery from a snapshot (+10 events), p50 of " + std::to_string(k)
             + " (raw: epoch bump + reads, FULL commit; lower is better)",
           "ms", p50, median(rs), "%.2f");
    check_aim("snapshot recovery p50 < 10 ms", p50, p50 < 10);
    remove_db(path);

    // Many actors recovering at once.
    auto m = flag("--recover", 10000, 1000);
    path = dir.fresh("recover-many");
    std::vector<std::string> keys;
    for (uint64_t i = 0; i < m; ++i)
      keys.push_back("r" + std::to_string(i));
    prefill(path, keys, 10, 0, *data);
    std::vector<double> batches;
    auto [tm, rm] = alternate<double>(
      reps,
      [&] {
        return with_journal(
          settings, path, [&](caf::actor_system& sys, tp::journal_service& svc) {
            auto tr = std::make_shared<tracker>();
            auto t0 = clock::now();
            auto cs = spawn_counters(sys, keys, data, tr);
            auto secs = seconds_since(t0);
            if (tr->seen != 10 * m)
              die("recovery of many: wrong states");
            auto& fig = svc.figures();
            batches.push_back(static_cast<double>(fig.batch_jobs.load())
                              / static_cast<double>(fig.batches.load()));
            stop_all(cs);
            return secs;
          });
      },
      [&] {
        raw_sqlite db{path, true};
        auto t0 = clock::now();
        for (uint64_t i = 0; i < m; i += 1000) {
          db.begin();
          for (uint64_t j = i; j < std::min(m, i + 1000); ++j)
            db.recover(pid_of(keys[j]));
          db.commit();
        }
        return seconds_since(t0);
      });
    auto secs = median(tm);
    report(std::to_string(m) + " actors of 10 events recovered at once, spawn "
             + "to all answered (raw: 1,000 recoveries per transaction; lower "
             + "is better)",
           "s", secs, median(rm), "%.3f");
    std::printf("  journal service mean batch %.1f jobs\n", median(batches));
    check_aim(std::to_string(m) + " actors recovered < 10 s", secs, secs < 10);
    remove_db(path);
  }

  if (wants("epoch")) {
    auto epoch_part = [&](const std::string& label, bool full, uint64_t ids,
                          uint64_t batches) {
      auto per_id = 64 / ids;
      auto ev = make_event(*data);
      auto [t, r] = alternate<double>(
        reps,
        [&] {
          auto path = dir.fresh("epoch");
          auto j = tp::open_sqlite_journal(path + (full ? "" : "?synchronous=normal"));
          if (!j)
            die("epoch: " + troupe::describe(j.error()));
          std::vector<std::string> pids;
          std::vector<uint64_t> epochs;
          for (uint64_t i = 0; i < ids; ++i) {
            pids.push_back(pid_of("e" + std::to_string(i)));
            epochs.push_back(*(*j)->take_epoch(pids.back()));
          }
          std::vector<tp::record> recs(per_id,
                                       tp::detail::encode_record(0, ev));
          auto t0 = clock::now();
          for (uint64_t b = 0; b < batches; ++b) {
            (*j)->begin();
            for (uint64_t i = 0; i < ids; ++i) {
              for (uint64_t s = 0; s < per_id; ++s)
                recs[s].seq = b * per_id + s + 1;
              if (auto err = (*j)->append(pids[i], epochs[i], recs))
                die("epoch append: " + troupe::describe(err));
            }
            if (auto err = (*j)->commit())
              die("epoch commit: " + troupe::describe(err));
          }
          auto rate = static_cast<double>(batches * 64) / seconds_since(t0);
          j->reset();
          remove_db(path);
          return rate;
        },
        [&] {
          auto path = dir.fresh("epoch-raw");
          auto rows = round_robin_rows(ids, batches * per_id, *data);
          if (ids == 1)
            for (auto& row : rows)
              row.pid = pid_of("e0");
          auto rate = raw_batches(path, full, rows, 64);
          remove_db(path);
          return rate;
        });
      auto rate = median(t), raw = median(r);
      report("journal::append with epoch check, " + label + ", "
               + std::to_string(batches) + " transactions of 64 events",
             "events/s", rate, raw);
      return raw / rate - 1;
    };
    auto b = flag("--epoch-batches", 1000, 100);
    auto over = epoch_part("64 ids x 1 event, NORMAL", false, 64, b);
    check_aim("writer-epoch check overhead < 10% (64 ids x 1 event per "
              "transaction, NORMAL; value = raw/troupe - 1)",
              over, over < 0.10);
    auto over_full = epoch_part("64 ids x 1 event, FULL", true, 64,
                                flag("--epoch-batches-full", 200, 20));
    check_aim("writer-epoch check overhead < 10% (same, FULL)", over_full,
              over_full < 0.10);
    epoch_part("1 id x 64 events, NORMAL", false, 1, b);
  }

  if (wants("pg")) {
    // --pg CONNINFO, or a throwaway server (--pg start) if the server
    // binaries are installed.
    std::unique_ptr<troupe::test::postgres_server> server;
    if (pg == "start" || (pg.empty() && has("pg"))) {
      if (troupe::test::postgres_server::find_bin_dir().empty()) {
        std::printf("postgresql: skipped (no server binaries for --pg start)\n");
      } else {
        server = std::make_unique<troupe::test::postgres_server>();
        pg = server->create_database("bench");
        pg = server->socket_conninfo("bench");
      }
    }
    if (pg.empty() || pg == "start") {
      std::printf("postgresql: skipped (give --pg CONNINFO, or --pg start or "
                  "the part name pg to start a throwaway server)\n");
    } else {
      auto actors = flag("--actors", 1000, 200);
      auto per = flag("--per-actor", 50, 10);
      auto rows = round_robin_rows(actors, per, *data);
      many_part("1000 actors persisting at once, PostgreSQL", pg, 20000,
                [&](size_t batch) { return raw_pg_batches(pg, rows, batch); },
                [&] {
                  // Each troupe run starts on empty tables.
                  raw_pg db{pg};
                  db.exec("DROP TABLE IF EXISTS troupe_events, troupe_ids, "
                          "troupe_snapshots, troupe_states, troupe_schema");
                });
    }
  }

  std::printf("\naims:\n");
  for (auto& a : aims)
    std::printf("  %-75s %s (%.3g)\n", a.text.c_str(),
                a.met ? "met" : "NOT met", a.value);
  return 0;
}
