// SPDX-License-Identifier: Apache-2.0
// kill -9 in the middle of persisting, then recovery. A writer process
// (persist_writer.cpp) stores deterministic batches for four persistence ids
// and prints each acknowledged one; the test kills it by its PID with
// SIGKILL after a seeded random number of acknowledgements, then reads the
// journal and checks, for each id: every acknowledged batch is there; the
// stored events are exactly batches 1..k of the reference model for a k of
// at most one batch beyond the last acknowledged one (an unacknowledged
// batch is wholly there or wholly absent: no partial batch, no gap, no
// duplicate); their fold is the model's state; and the next writer recovers
// exactly that. Several kills per run, on SQLite (full and normal sync) and
// PostgreSQL.
//
// Catches: a batch committed in pieces (one transaction per event, or a
// commit between a batch's events), an acknowledgement sent before the
// commit, a recovery that skips or repeats events, sequence numbers taken
// from a stale count after a crash. Checked by breaking the runtime on
// purpose (not committed): SQLite committing each event of an append on its
// own fails with "batch N is partial"; the journal service replying before
// its commit fails with "acknowledged batch N is missing".
//
// TROUPE_CRASH_SEED=<n> replays a run's kill points.
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include "child_process.hpp"
#include "persist_model.hpp"
#include "runtime/persistence/postgres_server.hpp"
#include "runtime/persistence/temp_dir.hpp"
#include "troupe/error.hpp"
#include "troupe/persistence/event_sourced.hpp"
#include "troupe/persistence/journal.hpp"

using namespace std::chrono_literals;
using troupe::test::child_process;
using troupe::test::program;
namespace model = troupe::test::persist_model;
namespace tp = troupe::persistence;

namespace {

constexpr int actors = 4;
constexpr int kills = 5;

/// Waits until no other session is connected to the database of
/// `conninfo`: PostgreSQL may still run what a killed writer sent before it
/// died (its last batch's statements and COMMIT are in the server's socket
/// buffer), and that transaction must be over, committed or not, before
/// the journal is read as the writer left it. Polls the server's own view
/// of its sessions (bounded); false if one is still there after 30 s.
bool await_no_other_sessions(const std::string& conninfo) {
  auto* conn = PQconnectdb(conninfo.c_str());
  bool gone = false;
  for (int i = 0; i < 3000 && PQstatus(conn) == CONNECTION_OK && !gone; ++i) {
    auto* res = PQexec(conn, "SELECT count(*) FROM pg_stat_activity "
                             "WHERE datname = current_database() "
                             "AND pid <> pg_backend_pid()");
    gone = PQresultStatus(res) == PGRES_TUPLES_OK
           && std::string{PQgetvalue(res, 0, 0)} == "0";
    PQclear(res);
    if (!gone)
      std::this_thread::sleep_for(10ms);
  }
  PQfinish(conn);
  return gone;
}

/// Whether the journal at `where` is as the killed writers left it (at
/// once for SQLite, whose commit is the writer's own).
bool settled(const std::string& where) {
  return where.rfind("postgresql:", 0) != 0 || await_no_other_sessions(where);
}

uint64_t run_seed() {
  if (auto* s = std::getenv("TROUPE_CRASH_SEED"))
    return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

struct ack_line {
  int actor = 0;
  uint64_t batch = 0;
  uint64_t seq = 0;
};

std::vector<ack_line> acks_of(const std::vector<std::string>& lines) {
  std::vector<ack_line> out;
  for (auto& line : lines) {
    if (line.rfind("ACK ", 0) != 0)
      continue;
    std::istringstream in{line.substr(4)};
    ack_line x;
    if (in >> x.actor >> x.batch >> x.seq)
      out.push_back(x);
  }
  return out;
}

size_t count_acks(const std::vector<std::string>& lines) {
  return acks_of(lines).size();
}

class PersistCrash : public testing::Test {
protected:
  /// Whole batches found for each id after the last kill (0 at first).
  std::map<int, uint64_t> stored_;
  std::mt19937_64 rng_;

  /// Starts the writer on `where`, checks that each writer recovered
  /// `stored_`, waits for `target` acknowledgements (0: none), kills it
  /// with SIGKILL and returns the last acknowledged batch of each id.
  std::map<int, uint64_t> run_writer(const std::string& where, size_t target) {
    child_process w{{program("troupe_persist_writer"), where,
                     std::to_string(actors)}};
    std::map<int, uint64_t> last;
    for (int a = 1; a <= actors; ++a) {
      auto line = w.wait_for_line("RECOVERED " + std::to_string(a) + " ", 30s);
      if (!line) {
        ADD_FAILURE() << "writer " << a << " did not recover:\n" << w.output();
        return last;
      }
      std::istringstream in{line->substr(10)};
      int actor = 0;
      uint64_t k = 0, seq = 0;
      in >> actor >> k >> seq;
      EXPECT_EQ(k, stored_[a]) << "writer " << a << " recovered " << k
                               << " batches, the journal holds " << stored_[a];
      EXPECT_EQ(seq, model::last_seq(a, k));
      last[a] = k;
    }
    // Sync on printed acknowledgements; each wait is bounded.
    size_t from = 0;
    for (int i = 0; i < 100000 && count_acks(w.lines()) < target; ++i) {
      if (!w.wait_for_line("ACK ", 30s, from)) {
        ADD_FAILURE() << "the writer stopped acknowledging:\n" << w.output();
        return last;
      }
      from = w.line_count();
    }
    w.signal(SIGKILL);
    auto code = w.wait_exit(30s);
    EXPECT_TRUE(code && *code == 128 + SIGKILL)
      << "exit " << code.value_or(-1) << ":\n" << w.output();
    // Every line it printed before it died, in order.
    for (auto& line : w.lines())
      EXPECT_EQ(line.find("BAD"), std::string::npos) << line;
    for (auto& x : acks_of(w.lines())) {
      EXPECT_EQ(x.batch, last[x.actor] + 1)
        << "writer " << x.actor << " acknowledged batch " << x.batch
        << " out of order";
      EXPECT_EQ(x.seq, model::last_seq(x.actor, x.batch))
        << "writer " << x.actor << " batch " << x.batch;
      last[x.actor] = x.batch;
    }
    return last;
  }

  /// Checks the events of writer `a` against the model and the last
  /// acknowledged batch; returns the number of whole batches stored.
  uint64_t verify(tp::journal& j, int a, uint64_t acked) {
    auto pid = model::pid(a);
    auto highest = j.highest_seq(pid);
    EXPECT_TRUE(highest) << troupe::describe(highest.error());
    if (!highest)
      return 0;
    std::vector<tp::record> evs;
    auto err = j.replay(pid, 1, std::numeric_limits<int64_t>::max(),
                        std::numeric_limits<int64_t>::max(),
                        [&](tp::record&& x) { evs.push_back(std::move(x)); });
    EXPECT_FALSE(err) << troupe::describe(err);
    EXPECT_EQ(evs.size(), *highest) << pid;
    uint64_t b = 1;
    size_t i = 0;
    troupe_test::CounterState folded;
    for (size_t n = 0; n < evs.size(); ++n) {
      // No gap, no duplicate: the n-th stored event has sequence number n+1.
      EXPECT_EQ(evs[n].seq, n + 1) << pid;
      troupe_test::CounterEvent ev;
      auto derr = tp::detail::decode_record(pid, evs[n], ev);
      EXPECT_FALSE(derr) << troupe::describe(derr);
      auto want = model::event(a, b, i);
      EXPECT_EQ(ev.note(), want.note()) << pid << " seq " << evs[n].seq;
      EXPECT_EQ(ev.add(), want.add()) << pid << " seq " << evs[n].seq;
      if (ev.note() != want.note())
        return 0; // one message is enough
      model::apply(folded, ev);
      if (++i == model::batch_size(a, b)) {
        ++b;
        i = 0;
      }
    }
    EXPECT_EQ(i, 0u) << pid << ": batch " << b << " is partial: " << i
                     << " of its " << model::batch_size(a, b)
                     << " events are stored";
    auto k = b - 1;
    EXPECT_GE(k, acked) << pid << ": acknowledged batch " << acked
                        << " is missing";
    EXPECT_LE(k, acked + 1) << pid << ": more than one unacknowledged batch";
    auto ref = model::state_after(a, k);
    EXPECT_EQ(folded.total(), ref.total()) << pid;
    EXPECT_EQ(folded.events(), ref.events()) << pid;
    // The recovery a new incarnation makes reads the same.
    auto rec = j.recover(pid);
    EXPECT_TRUE(rec) << troupe::describe(rec.error());
    if (rec) {
      EXPECT_EQ(rec->highest_seq, *highest);
      EXPECT_EQ(rec->events.size(), evs.size());
    }
    return k;
  }

  /// `kills` rounds on `where` (each writer uses `locations[round % n]`),
  /// then a last start that must recover what the last round left.
  void crash_rounds(const std::vector<std::string>& locations,
                    const std::string& verify_at) {
    auto seed = run_seed();
    std::cout << "TROUPE_CRASH_SEED=" << seed << std::endl;
    RecordProperty("seed", std::to_string(seed));
    rng_.seed(seed);
    std::uniform_int_distribution<size_t> kill_after{5, 200};
    for (int round = 0; round < kills && !HasFailure(); ++round) {
      auto target = kill_after(rng_);
      auto& where = locations[round % locations.size()];
      SCOPED_TRACE("round " + std::to_string(round) + " on " + where
                   + ", kill after " + std::to_string(target)
                   + " acknowledgements, seed " + std::to_string(seed));
      auto acked = run_writer(where, target);
      if (HasFailure())
        return;
      ASSERT_TRUE(settled(verify_at))
        << "the killed writer's session is still on the server after 30 s";
      auto j = tp::open_journal(verify_at);
      ASSERT_TRUE(j) << troupe::describe(j.error());
      int64_t beyond = 0;
      for (int a = 1; a <= actors; ++a) {
        stored_[a] = verify(**j, a, acked[a]);
        beyond += static_cast<int64_t>(stored_[a] - acked[a]);
      }
      std::cout << "round " << round << ": killed after " << target
                << " acknowledgements; batches stored";
      for (int a = 1; a <= actors; ++a)
        std::cout << ' ' << stored_[a];
      std::cout << " (" << beyond << " more than acknowledged)" << std::endl;
    }
    SCOPED_TRACE("the last restart, seed " + std::to_string(seed));
    run_writer(locations[0], 0);
  }
};

/// Two writer processes on one journal, as a node that was cut off and its
/// replacement: B starts while A writes the same ids. B's recovery takes
/// new writer epochs; A's next writes are refused (A logs writer_fenced
/// and its writers stop), B carries on, and the journal holds the model's
/// whole batches without gap or duplicate.
class PersistZombie : public PersistCrash {
protected:
  void two_writers(const std::string& where) {
    auto args = std::vector<std::string>{program("troupe_persist_writer"),
                                         where, std::to_string(actors)};
    child_process a{args};
    for (int i = 1; i <= actors; ++i)
      ASSERT_TRUE(a.wait_for_line("RECOVERED " + std::to_string(i) + " ", 30s))
        << a.output();
    ASSERT_TRUE(a.wait_for_line("ACK ", 30s)) << a.output();
    child_process b{args};
    std::map<int, uint64_t> acked;
    for (int i = 1; i <= actors; ++i) {
      auto line = b.wait_for_line("RECOVERED " + std::to_string(i) + " ", 30s);
      ASSERT_TRUE(line) << b.output();
      std::istringstream in{line->substr(10)};
      int actor = 0;
      uint64_t k = 0;
      in >> actor >> k;
      acked[actor] = k;
    }
    auto refused = a.wait_for_line("a newer incarnation took its writer epoch",
                                   30s);
    EXPECT_TRUE(refused) << "the stale writer was not refused:\n"
                         << a.output();
    auto mark = b.line_count();
    ASSERT_TRUE(b.wait_for_line("ACK ", 30s, mark)) << b.output();
    b.signal(SIGKILL);
    a.signal(SIGKILL);
    EXPECT_TRUE(b.wait_exit(30s));
    EXPECT_TRUE(a.wait_exit(30s));
    for (auto& x : acks_of(b.lines()))
      acked[x.actor] = std::max(acked[x.actor], x.batch);
    ASSERT_TRUE(settled(where))
      << "a killed writer's session is still on the server after 30 s";
    auto j = tp::open_journal(where);
    ASSERT_TRUE(j) << troupe::describe(j.error());
    for (int i = 1; i <= actors; ++i)
      verify(**j, i, acked[i]);
  }
};

TEST_F(PersistZombie, SqliteRefusesTheStaleProcessesWrites) {
  troupe::test::temp_dir dir;
  two_writers("sqlite:" + dir.file("journal.db"));
}

TEST_F(PersistZombie, PostgresRefusesTheStaleProcessesWrites) {
  std::string info;
  try {
    info = troupe::test::postgres_server::shared().fresh_database("zombie");
  } catch (const std::exception& ex) {
    FAIL() << ex.what();
  }
  two_writers(info);
}

TEST_F(PersistCrash, SqliteKeepsWholeBatchesAcrossKills) {
  troupe::test::temp_dir dir;
  auto path = dir.file("journal.db");
  crash_rounds({"sqlite:" + path, "sqlite:" + path + "?synchronous=normal"},
               "sqlite:" + path);
}

TEST_F(PersistCrash, PostgresKeepsWholeBatchesAcrossKills) {
  if (troupe::test::postgres_server::find_bin_dir().empty())
    GTEST_SKIP() << "no PostgreSQL server binaries";
  std::string info;
  try {
    info = troupe::test::postgres_server::shared().fresh_database("crash");
  } catch (const std::exception& ex) {
    FAIL() << ex.what();
  }
  crash_rounds({info}, info);
}

} // namespace
