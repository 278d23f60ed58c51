// SPDX-License-Identifier: Apache-2.0
// Two writers of one persistence id under random interleavings: a first
// incarnation and a second one that recovers while the first is still
// alive (a zombie: cut off, restarted elsewhere, not yet stopped). For many
// seeds the test interleaves, at random, the requests sent to both, the
// actors' steps on CAF's test_coordinator (one job at a time, in random
// order) and the journal's batches (manual mode), then checks:
//   - the stored events are 1..N, no gap, no duplicate;
//   - every write of the stale incarnation that reached the journal after
//     the new one took its epoch was refused with writer_fenced, no write
//     was refused otherwise, and the stale incarnation has stopped with
//     writer_fenced;
//   - the journal holds exactly the events of the acknowledged requests,
//     each request's batch whole and in order, and each acknowledgement
//     answered the total of the journal up to its last event;
//   - the live incarnation's state is the fold of the journal.
// The durable-state variant checks the same of compare-and-set saves.
//
// Catches: a missing or wrong epoch check in a backend (the stale writer's
// events land after the new one's: "accepted a stale write" / a duplicate
// sequence number), an answer sent before the write is durable or for a
// refused write, a refused write that leaves something behind, a stale
// incarnation that keeps running after it was fenced. Checked by making
// detail::check_epoch accept every epoch (not committed): seed 1 fails with
// "the journal accepted a write of the stale incarnation".
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <caf/after.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/system_messages.hpp>

#include "runtime/persistence/persistent_fixture.hpp"
#include "runtime/persistence/recording_journal.hpp"
#include "troupe/log.hpp"
#include "troupe/persistence/durable_state.hpp"

using namespace std::chrono_literals;

namespace troupe::test {
namespace {

using namespace troupe::persistence;
using count_atom = caf::atom_constant<caf::atom("count")>;
using set_atom = caf::atom_constant<caf::atom("set")>;

constexpr int seeds = 500;

/// `is` for an error that may be empty (CAF 0.17's category() of an empty
/// error crashes).
bool is_fenced(const caf::error& err) {
  return err && is(err, errc::writer_fenced);
}
constexpr int steps = 120;

// -- the actors --------------------------------------------------------------

/// `(add, id, n)` stores n events tagged "r<id>.<j>" (each adds `id`) in one
/// batch and answers the new total; `(total)`, `(count)` answer the state.
caf::behavior tagged_counter(counter_actor* self) {
  self->setup({"counter", "zombie"}, apply_counter);
  return {
    [self](add_atom, int64_t id, int64_t n) -> caf::result<int64_t> {
      auto rp = self->make_response_promise<int64_t>();
      std::vector<troupe_test::CounterEvent> evs;
      for (int64_t j = 0; j < n; ++j) {
        troupe_test::CounterEvent ev;
        ev.set_add(id);
        ev.set_note("r" + std::to_string(id) + "." + std::to_string(j));
        evs.push_back(std::move(ev));
      }
      self->persist(std::move(evs), [rp](const troupe_test::CounterState& s) mutable {
        rp.deliver(static_cast<int64_t>(s.total()));
      });
      return rp;
    },
    [self](total_atom) { return static_cast<int64_t>(self->state().total()); },
    [self](count_atom) { return static_cast<int64_t>(self->state().events()); },
  };
}

using register_actor = durable_state<troupe_test::CounterState>;

/// `(set, id)` saves {total: id} as the next revision and answers the
/// revision; `(total)` answers the state, `(count)` the revision.
caf::behavior tagged_register(register_actor* self) {
  self->setup({"register", "zombie"});
  return {
    [self](set_atom, int64_t id) -> caf::result<int64_t> {
      auto rp = self->make_response_promise<int64_t>();
      troupe_test::CounterState next;
      next.set_total(id);
      next.set_events(self->revision() + 1);
      self->save(std::move(next), [rp, self]() mutable {
        rp.deliver(static_cast<int64_t>(self->revision()));
      });
      return rp;
    },
    [self](total_atom) { return static_cast<int64_t>(self->state().total()); },
    [self](count_atom) { return static_cast<int64_t>(self->revision()); },
  };
}

struct outcome {
  bool ok = false;
  int64_t value = 0;
  caf::error err;
};

using outcomes = std::map<int64_t, outcome>;

/// Sends requests on the test's behalf, inside the deterministic system (so
/// that its steps are interleaved too), and records each answer by id.
caf::behavior client(caf::event_based_actor* self, std::shared_ptr<outcomes> out) {
  auto keep = [out](int64_t id) {
    return std::make_pair(
      [out, id](int64_t x) { (*out)[id] = outcome{true, x, {}}; },
      [out, id](caf::error& err) { (*out)[id] = outcome{false, 0, err}; });
  };
  return {
    [self, keep](caf::actor dst, int64_t id, add_atom, int64_t n) {
      auto [ok, bad] = keep(id);
      self->request(dst, caf::infinite, add_atom::value, id, n).then(ok, bad);
    },
    [self, keep](caf::actor dst, int64_t id, set_atom) {
      auto [ok, bad] = keep(id);
      self->request(dst, caf::infinite, set_atom::value, id).then(ok, bad);
    },
    [self, keep](caf::actor dst, int64_t id, total_atom) {
      auto [ok, bad] = keep(id);
      self->request(dst, caf::infinite, total_atom::value).then(ok, bad);
    },
    [self, keep](caf::actor dst, int64_t id, count_atom) {
      auto [ok, bad] = keep(id);
      self->request(dst, caf::infinite, count_atom::value).then(ok, bad);
    },
  };
}

// -- one run -----------------------------------------------------------------

/// A fresh deterministic system, memory store and recording journal.
struct world {
  deterministic ctx;
  std::shared_ptr<memory_store> store = std::make_shared<memory_store>();
  std::shared_ptr<call_log> log = std::make_shared<call_log>();
  std::shared_ptr<journal_service> svc;
  std::shared_ptr<outcomes> out = std::make_shared<outcomes>();
  caf::actor cli;
  std::mt19937_64 rng;

  explicit world(uint64_t seed) : rng(seed) {
    auto s = journal_service::start(
      [st = store, lg = log] {
        return caf::expected<std::unique_ptr<journal>>{
          std::make_unique<recording_journal>(make_memory_journal(st), lg)};
      },
      journal_service::mode::manual);
    svc = *s;
    attach_journal_service(*ctx.sys, svc);
    cli = ctx.sys->spawn(client, out);
  }

  ~world() {
    attach_journal_service(*ctx.sys, nullptr);
  }

  bool chance(double p) {
    return std::uniform_real_distribution<double>{0, 1}(rng) < p;
  }

  int64_t pick(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>{lo, hi}(rng);
  }

  /// Runs one job chosen at random among the runnable ones.
  void step() {
    auto& jobs = ctx.sched->jobs;
    if (jobs.empty())
      return;
    auto i = jobs.begin() + pick(0, static_cast<int64_t>(jobs.size()) - 1);
    std::rotate(jobs.begin(), i, i + 1);
    ctx.sched->run_once();
  }

  void settle() {
    for (int i = 0; i < 1000; ++i) {
      ctx.run();
      if (svc->run_pending() == 0 && ctx.run() == 0)
        return;
    }
    ADD_FAILURE() << "the system did not settle";
  }

  bool epoch_taken() const {
    return std::any_of(log->begin(), log->end(), [](auto& c) {
      return c.op == journal_call::take;
    });
  }

  /// Interleaves `send(target)` requests to `old` and, once spawned by
  /// `spawn_fresh` (after `old` took its epoch), to `fresh`, with random
  /// actor steps and journal batches.
  template <class Send, class Spawn>
  void interleave(const caf::actor& old, caf::actor& fresh, Send send,
                  Spawn spawn_fresh) {
    for (int s = 0; s < steps; ++s) {
      if (!fresh && epoch_taken() && chance(0.03))
        fresh = spawn_fresh();
      auto dice = pick(0, 99);
      if (dice < 20)
        send(old);
      else if (dice < 40 && fresh)
        send(fresh);
      else if (dice < 75)
        step();
      else
        svc->run_pending();
    }
    if (!fresh) {
      settle();
      fresh = spawn_fresh();
      for (int s = 0; s < 20; ++s)
        chance(0.5) ? step() : (void) svc->run_pending();
    }
  }

  /// Checks the journal log: once the second epoch is taken, every write
  /// with the first is refused with writer_fenced; nothing else is refused;
  /// the stale incarnation tried at most one write after it was fenced.
  void check_fencing() {
    bool second = false;
    int fenced = 0;
    for (auto& c : *log) {
      if (c.op == journal_call::take) {
        second = second || c.epoch == 2;
        continue;
      }
      if (c.epoch == 1 && second) {
        EXPECT_TRUE(is_fenced(c.err))
          << "the journal accepted a write of the stale incarnation (first "
          << c.first << ", " << c.n << " records) after the new one took "
          << "its epoch: " << describe(c.err);
        ++fenced;
      } else {
        EXPECT_FALSE(c.err) << "a write with epoch " << c.epoch
                            << " was refused: " << describe(c.err);
      }
    }
    EXPECT_LE(fenced, 1) << "the stale incarnation kept writing after it "
                            "was fenced";
  }

  /// Expects `old` to have stopped with writer_fenced (its down message is
  /// in `self`'s mailbox).
  void check_stopped(caf::scoped_actor& self) {
    caf::error reason;
    self->receive([&](caf::down_msg& dm) { reason = dm.reason; },
                  caf::after(0ms) >> [] {
                    ADD_FAILURE() << "the stale incarnation still runs";
                  });
    EXPECT_TRUE(is_fenced(reason)) << describe(reason);
  }
};

/// The stale incarnation's warning would be printed once per seed.
struct quiet_log {
  quiet_log() {
    troupe::set_log_level(troupe::log_level::error);
  }
  ~quiet_log() {
    troupe::set_log_level(troupe::log_level::info);
  }
};

/// How often the interesting races happened, so that a change that makes
/// the runs trivial fails the test instead of passing it vacuously.
struct coverage {
  int stale_acked = 0;       // writes of the first incarnation acknowledged
  int stale_acked_late = 0;  // ... after the second one was spawned
  int fenced_mid_run = 0;    // runs where it was fenced before the last write
  int live_acked = 0;        // writes of the second incarnation acknowledged

  void count(const outcomes& out, const std::map<int64_t, int>& who,
             int64_t last_stale) {
    bool fenced = false;
    for (auto& [id, o] : out) {
      auto i = who.find(id);
      if (i == who.end())
        continue;
      if (i->second == 0 && o.ok)
        ++stale_acked;
      if (i->second == 1 && o.ok)
        ++stale_acked_late;
      if (i->second == 2 && o.ok)
        ++live_acked;
      if (i->second < 2 && id != last_stale && is_fenced(o.err))
        fenced = true;
    }
    fenced_mid_run += fenced ? 1 : 0;
  }

  void expect_some() {
    std::cout << "coverage: stale writes acknowledged " << stale_acked
              << " (after the second incarnation was spawned: "
              << stale_acked_late << "), runs fenced mid-run "
              << fenced_mid_run << ", live writes acknowledged " << live_acked
              << std::endl;
    EXPECT_GT(stale_acked, seeds);
    EXPECT_GT(stale_acked_late, 0);
    EXPECT_GT(fenced_mid_run, seeds / 4);
    EXPECT_GT(live_acked, seeds);
  }
};

const std::string es_pid = "counter|zombie";
const std::string ds_pid = "register|zombie";

/// Checks the event-sourced run's journal against the answers.
void check_events(world& w, const std::map<int64_t, int64_t>& sizes,
                  int64_t total_id, int64_t count_id) {
  auto j = make_memory_journal(w.store);
  std::vector<record> evs;
  ASSERT_FALSE(j->replay(es_pid, 1, UINT64_MAX, UINT64_MAX,
                         [&](record&& x) { evs.push_back(std::move(x)); }));
  EXPECT_EQ(*j->highest_seq(es_pid), evs.size());
  // 1..N: no gap, no duplicate.
  for (size_t i = 0; i < evs.size(); ++i)
    ASSERT_EQ(evs[i].seq, i + 1) << "gap or duplicate at " << i + 1;
  // The journal is the acknowledged batches, each whole and in order, and
  // each answer is the total after its batch.
  troupe_test::CounterState folded;
  std::map<int64_t, int64_t> seen;
  for (size_t i = 0; i < evs.size();) {
    troupe_test::CounterEvent ev;
    ASSERT_FALSE(persistence::detail::decode_record(es_pid, evs[i], ev));
    auto id = ev.add();
    auto n = sizes.at(id);
    ASSERT_EQ(seen.count(id), 0u) << "request " << id << " stored twice";
    seen[id] = 1;
    for (int64_t k = 0; k < n; ++k, ++i) {
      ASSERT_LT(i, evs.size()) << "request " << id << " stored in part";
      ASSERT_FALSE(persistence::detail::decode_record(es_pid, evs[i], ev));
      ASSERT_EQ(ev.note(), "r" + std::to_string(id) + "." + std::to_string(k))
        << "request " << id << " stored in part or out of order";
      apply_counter(folded, ev);
    }
    auto& o = (*w.out)[id];
    EXPECT_TRUE(o.ok) << "request " << id << " is stored but was answered "
                      << describe(o.err);
    if (o.ok) {
      EXPECT_EQ(o.value, folded.total()) << "request " << id;
    }
  }
  for (auto& [id, n] : sizes) {
    auto& o = (*w.out)[id];
    if (o.ok) {
      EXPECT_EQ(seen.count(id), 1u) << "acknowledged request " << id
                                    << " is not stored";
    }
  }
  EXPECT_EQ((*w.out)[total_id].value, folded.total());
  EXPECT_EQ((*w.out)[count_id].value, static_cast<int64_t>(folded.events()));
}

TEST(Interleavings, TwoIncarnationsOfAnEventSourcedActorNeverForkTheJournal) {
  quiet_log quiet;
  coverage cov;
  int fenced_runs = 0;
  for (int seed = 1; seed <= seeds && !::testing::Test::HasFailure(); ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    world w{static_cast<uint64_t>(seed)};
    caf::scoped_actor self{*w.ctx.sys};
    auto old = troupe::spawn(*w.ctx.sys, tagged_counter);
    self->monitor(old);
    caf::actor fresh;
    int64_t next_id = 1;
    std::map<int64_t, int64_t> sizes; // request id -> events
    std::map<int64_t, int> who; // 0: old, 1: old once fresh exists, 2: fresh
    auto send = [&](const caf::actor& dst) {
      auto id = next_id++;
      auto n = w.pick(1, 4);
      sizes[id] = n;
      who[id] = dst == old ? (fresh ? 1 : 0) : 2;
      caf::anon_send(w.cli, dst, id, add_atom::value, n);
    };
    w.interleave(old, fresh, send,
                 [&] { return troupe::spawn(*w.ctx.sys, tagged_counter); });
    w.settle();
    // The stale incarnation writes once more if it has not yet: refused.
    send(old);
    w.settle();
    auto total_id = next_id++;
    auto count_id = next_id++;
    caf::anon_send(w.cli, fresh, total_id, total_atom::value);
    caf::anon_send(w.cli, fresh, count_id, count_atom::value);
    w.settle();
    ASSERT_EQ(w.out->size(), static_cast<size_t>(next_id - 1))
      << "a request was never answered";
    w.check_fencing();
    w.check_stopped(self);
    check_events(w, sizes, total_id, count_id);
    cov.count(*w.out, who, total_id - 1);
    for (auto& [id, o] : *w.out)
      if (!o.ok) {
        ++fenced_runs;
        break;
      }
    self->send_exit(fresh, caf::exit_reason::kill);
    w.settle();
  }
  EXPECT_EQ(fenced_runs, seeds); // the final write is always refused
  cov.expect_some();
}

TEST(Interleavings, TwoIncarnationsOfADurableStateNeverOverwriteEachOther) {
  quiet_log quiet;
  coverage cov;
  for (int seed = 1; seed <= seeds && !::testing::Test::HasFailure(); ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    world w{static_cast<uint64_t>(seed) + 100000};
    caf::scoped_actor self{*w.ctx.sys};
    auto old = troupe::spawn(*w.ctx.sys, tagged_register);
    self->monitor(old);
    caf::actor fresh;
    int64_t next_id = 1;
    std::map<int64_t, int> who; // 0: old, 1: old once fresh exists, 2: fresh
    auto send = [&](const caf::actor& dst) {
      who[next_id] = dst == old ? (fresh ? 1 : 0) : 2;
      caf::anon_send(w.cli, dst, next_id++, set_atom::value);
    };
    w.interleave(old, fresh, send,
                 [&] { return troupe::spawn(*w.ctx.sys, tagged_register); });
    w.settle();
    send(old);
    w.settle();
    auto total_id = next_id++;
    auto count_id = next_id++;
    caf::anon_send(w.cli, fresh, total_id, total_atom::value);
    caf::anon_send(w.cli, fresh, count_id, count_atom::value);
    w.settle();
    ASSERT_EQ(w.out->size(), static_cast<size_t>(next_id - 1))
      << "a request was never answered";
    w.check_fencing();
    w.check_stopped(self);
    // Each acknowledged save has its own revision, 1..R without gap; the
    // stored state is the last one's; the live incarnation holds it.
    std::map<int64_t, int64_t> by_revision; // revision -> request id
    for (auto& [id, o] : *w.out)
      if (o.ok && id < total_id) {
        EXPECT_EQ(by_revision.count(o.value), 0u)
          << "two acknowledged saves of revision " << o.value;
        by_revision[o.value] = id;
      }
    auto j = make_memory_journal(w.store);
    auto st = j->load_state(ds_pid);
    ASSERT_TRUE(st);
    auto revisions = static_cast<int64_t>(by_revision.size());
    if (revisions == 0) {
      EXPECT_FALSE(st->has_value());
    } else {
      EXPECT_EQ(by_revision.rbegin()->first, revisions) << "a revision gap";
      ASSERT_TRUE(st->has_value());
      EXPECT_EQ(static_cast<int64_t>((*st)->seq), revisions);
      troupe_test::CounterState s;
      ASSERT_FALSE(persistence::detail::decode_record(ds_pid, **st, s));
      EXPECT_EQ(s.total(), by_revision.rbegin()->second)
        << "the stored state is not the last acknowledged save's";
      EXPECT_EQ(static_cast<int64_t>(s.events()), revisions);
      EXPECT_EQ((*w.out)[total_id].value, s.total());
    }
    EXPECT_EQ((*w.out)[count_id].value, revisions);
    cov.count(*w.out, who, total_id - 1);
    self->send_exit(fresh, caf::exit_reason::kill);
    w.settle();
  }
  cov.expect_some();
}

} // namespace
} // namespace troupe::test
