// SPDX-License-Identifier: Apache-2.0
// Event-sourced actors on CAF's test_coordinator: answers after durability,
// order while waiting, recovery, snapshots, fencing, failures.
#include "troupe/persistence/event_sourced.hpp"

#include <caf/after.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include "runtime/persistence/persistent_fixture.hpp"
#include "troupe/supervision/supervisor.hpp"

using namespace std::chrono_literals;

namespace troupe::test {
namespace {

struct EventSourced : persistent_fixture {
  /// A supervisor whose one child is the counter `key`.
  caf::actor supervise_counter(const std::string& key) {
    troupe::child_spec spec;
    spec.id = "counter";
    spec.start = [key](caf::actor_system& sys) {
      return troupe::spawn(sys, counter, key, persistence::snapshot_policy{});
    };
    auto sup = troupe::spawn_supervisor(*ctx.sys, {}, {spec});
    settle();
    return sup;
  }

  /// The supervisor's first child.
  caf::actor child_of(const caf::actor& sup) {
    caf::actor c;
    auto rh = self->request(sup, caf::infinite, troupe::children_atom::value);
    settle();
    rh.receive(
      [&](std::vector<troupe::child_status>& xs) { c = xs.at(0).handle; },
      [&](caf::error& err) { ADD_FAILURE() << describe(err); });
    return c;
  }

  /// True if a reply is already in the test's mailbox (without waiting).
  bool has_reply() {
    bool got = false;
    self->receive([&](int64_t) { got = true; }, [&](caf::error&) { got = true; },
                  caf::after(0ms) >> [] {});
    return got;
  }
};

TEST_F(EventSourced, AnswersOnlyAfterTheEventIsStored) {
  auto c = spawn_counter("a");
  ctx.run(); // it asked for its recovery
  caf::anon_send(c, add_atom::value, int64_t{5}); // one-way: no answer
  auto rh = self->request(c, caf::infinite, add_atom::value, int64_t{7});
  ctx.run();
  EXPECT_EQ(store->event_count("counter|a"), 0u);
  svc->run_pending(); // the recovery
  ctx.run();          // the first add persists; the request waits
  EXPECT_EQ(store->event_count("counter|a"), 0u);
  svc->run_pending(); // the first event is stored
  EXPECT_EQ(store->event_count("counter|a"), 1u);
  ctx.run();
  EXPECT_FALSE(has_reply()); // the second add is in flight, not stored
  svc->run_pending();
  EXPECT_EQ(store->event_count("counter|a"), 2u);
  ctx.run();
  int64_t total = 0;
  rh.receive([&](int64_t x) { total = x; },
             [&](caf::error& err) { FAIL() << describe(err); });
  EXPECT_EQ(total, 12);
}

TEST_F(EventSourced, OtherMessagesWaitInOrderWhileAWriteIsInFlight) {
  auto c = spawn_counter("b");
  settle();
  auto h1 = self->request(c, caf::infinite, add_atom::value, int64_t{1});
  auto h2 = self->request(c, caf::infinite, total_atom::value);
  auto h3 = self->request(c, caf::infinite, add_atom::value, int64_t{2});
  auto h4 = self->request(c, caf::infinite, total_atom::value);
  ctx.run();
  EXPECT_FALSE(has_reply()); // even the read waits behind the write
  settle();
  std::vector<int64_t> got;
  for (auto* h : {&h1, &h2, &h3, &h4})
    h->receive([&](int64_t x) { got.push_back(x); },
               [&](caf::error& err) { FAIL() << describe(err); });
  EXPECT_EQ(got, (std::vector<int64_t>{1, 1, 3, 3}));
}

TEST_F(EventSourced, ARestartInPlaceRecoversTheStoredState) {
  auto sup = supervise_counter("c");
  auto c = child_of(sup);
  ASSERT_EQ(*ask(c, add_atom::value, int64_t{5}), 5);
  ASSERT_EQ(*ask(c, add_atom::value, int64_t{7}), 12);
  auto crash = ask(c, 1); // throws: restarted in place, same address
  EXPECT_FALSE(crash);
  EXPECT_EQ(*ask(c, total_atom::value), 12);
  EXPECT_EQ(*ask(c, add_atom::value, int64_t{1}), 13);
  EXPECT_EQ(store->event_count("counter|c"), 3u);
  self->send_exit(sup, caf::exit_reason::user_shutdown);
  settle();
}

TEST_F(EventSourced, ARespawnedIncarnationRecoversTheStoredState) {
  auto c = spawn_counter("d");
  ASSERT_EQ(*ask(c, add_atom::value, int64_t{40}), 40);
  ASSERT_EQ(*ask(c, add_atom::value, int64_t{2}), 42);
  self->send_exit(c, caf::exit_reason::kill);
  settle();
  auto again = spawn_counter("d");
  EXPECT_EQ(*ask(again, total_atom::value), 42);
}

TEST_F(EventSourced, ReplaysFromTheNewestSnapshotAndDeletesOnlyWhenAsked) {
  persistence::snapshot_policy keep_all{3, 2, false};
  auto a = spawn_counter("keep", keep_all);
  persistence::snapshot_policy trim{3, 2, true};
  auto b = spawn_counter("trim", trim);
  for (int i = 1; i <= 7; ++i) {
    ASSERT_TRUE(ask(a, add_atom::value, int64_t{i}));
    ASSERT_TRUE(ask(b, add_atom::value, int64_t{i}));
  }
  settle();
  EXPECT_EQ(store->event_count("counter|keep"), 7u);
  // Snapshots at 3 and 6 are kept; events up to the oldest (3) deleted.
  EXPECT_EQ(store->event_count("counter|trim"), 4u);
  self->send_exit(a, caf::exit_reason::kill);
  self->send_exit(b, caf::exit_reason::kill);
  settle();
  EXPECT_EQ(*ask(spawn_counter("keep", keep_all), total_atom::value), 28);
  EXPECT_EQ(*ask(spawn_counter("trim", trim), total_atom::value), 28);
}

TEST_F(EventSourced, AStaleIncarnationIsFencedAndStopsForGood) {
  auto old = spawn_counter("z");
  ASSERT_EQ(*ask(old, add_atom::value, int64_t{1}), 1);
  self->monitor(old);
  auto fresh = spawn_counter("z"); // e.g. respawned while `old` was cut off
  EXPECT_EQ(*ask(fresh, total_atom::value), 1);
  auto res = ask(old, add_atom::value, int64_t{100});
  ASSERT_FALSE(res);
  EXPECT_TRUE(is(res.error(), errc::writer_fenced)) << describe(res.error());
  caf::error reason;
  self->receive([&](caf::down_msg& dm) { reason = dm.reason; },
                caf::after(0ms) >> [] { ADD_FAILURE() << "still running"; });
  EXPECT_TRUE(is(reason, errc::writer_fenced)) << describe(reason);
  EXPECT_EQ(*ask(fresh, add_atom::value, int64_t{2}), 3);
  std::vector<uint64_t> seqs;
  auto j = persistence::make_memory_journal(store);
  ASSERT_FALSE(j->replay("counter|z", 1, 100, 100,
                         [&](persistence::record&& x) { seqs.push_back(x.seq); }));
  EXPECT_EQ(seqs, (std::vector<uint64_t>{1, 2})); // no gap, no duplicate
}

// Regression: a second persist in the same handler used to be numbered
// from the state before the first was stored (revision_conflict, the
// actor failed) and the first one's `then` never ran.
TEST_F(EventSourced, SeveralPersistsInOneHandlerAreStoredInCallOrder) {
  auto order = std::make_shared<std::vector<std::string>>();
  auto c = troupe::spawn(*ctx.sys, [order](counter_actor* self) -> caf::behavior {
    self->setup({"counter", "many"}, apply_counter);
    auto ev = [](int64_t n, const char* note) {
      troupe_test::CounterEvent e;
      e.set_add(n);
      e.set_note(note);
      return e;
    };
    return {
      [self, order, ev](add_atom, int64_t n) -> caf::result<int64_t> {
        auto rp = self->make_response_promise<int64_t>();
        self->persist(ev(n, "a"), [self, order, ev, n] {
          order->push_back("then a");
          self->persist(ev(n, "c"), [order] { order->push_back("then c"); });
        });
        self->persist(std::vector<troupe_test::CounterEvent>{ev(n, "b1"),
                                                             ev(n, "b2")},
                      [rp, order](const troupe_test::CounterState& s) mutable {
                        order->push_back("then b");
                        rp.deliver(static_cast<int64_t>(s.total()));
                      });
        return rp;
      },
      [self](total_atom) { return static_cast<int64_t>(self->state().total()); },
    };
  });
  self->monitor(c);
  auto res = ask(c, add_atom::value, int64_t{1});
  ASSERT_TRUE(res) << describe(res.error());
  EXPECT_EQ(*res, 3); // a, b1, b2 stored and applied when b is answered
  EXPECT_EQ(*ask(c, total_atom::value), 4);
  EXPECT_EQ(*order, (std::vector<std::string>{"then a", "then b", "then c"}));
  std::vector<std::string> notes;
  std::vector<uint64_t> seqs;
  auto j = persistence::make_memory_journal(store);
  ASSERT_FALSE(j->replay("counter|many", 1, 100, 100, [&](persistence::record&& x) {
    troupe_test::CounterEvent e;
    e.ParseFromString(x.bytes);
    notes.push_back(e.note());
    seqs.push_back(x.seq);
  }));
  EXPECT_EQ(notes, (std::vector<std::string>{"a", "b1", "b2", "c"}));
  EXPECT_EQ(seqs, (std::vector<uint64_t>{1, 2, 3, 4}));
  self->receive([&](caf::down_msg& dm) { ADD_FAILURE() << describe(dm.reason); },
                caf::after(0ms) >> [] {});
  self->send_exit(c, caf::exit_reason::kill);
  settle();
}

// The continuation of a write holds the requester's response promise, and
// that holds the actor: an actor stopped while writes are in flight (an
// exit message is taken even then) must still let go of itself. LSan found
// bank accounts stopped this way (their node shutting down, or the node of
// their supervisor lost) kept alive with their journal service.
TEST_F(EventSourced, AnActorStoppedWithWritesInFlightIsFreed) {
  auto c = troupe::spawn(*ctx.sys, [](counter_actor* self) -> caf::behavior {
    self->setup({"counter", "stopped"}, apply_counter);
    return {
      [self](add_atom, int64_t n) -> caf::result<int64_t> {
        auto rp = self->make_response_promise<int64_t>();
        troupe_test::CounterEvent ev;
        ev.set_add(n);
        // The first write goes to the journal, the second waits behind it;
        // both continuations hold the promise.
        self->persist(ev, [rp](const troupe_test::CounterState&) {});
        self->persist(ev, [rp](const troupe_test::CounterState& s) mutable {
          rp.deliver(static_cast<int64_t>(s.total()));
        });
        return rp;
      },
    };
  });
  settle(); // recovered
  auto weak = caf::actor_cast<caf::weak_actor_ptr>(c);
  self->monitor(c);
  // A request, as the bank's: its promise names the requester too. It is
  // never answered, so its handle is not kept.
  self->request(c, caf::infinite, add_atom::value, int64_t{1});
  ctx.run(); // the first write is submitted, the second waits behind it
  self->send_exit(c, caf::exit_reason::kill);
  c = nullptr;
  ctx.run(); // the actor takes the exit while its write is in flight
  // The write runs and its reply goes to an actor that has ended.
  EXPECT_EQ(svc->run_pending(), 1u);
  settle();
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; }, caf::after(0ms) >> [] {});
  ASSERT_TRUE(down) << "the actor did not stop";
  EXPECT_FALSE(weak.lock()) << "the stopped actor was not freed";
}

TEST_F(EventSourced, AFailedWriteAnswersWithTheErrorAndRecoversFromTheStore) {
  auto sup = supervise_counter("f");
  auto c = child_of(sup);
  ASSERT_EQ(*ask(c, add_atom::value, int64_t{5}), 5);
  store->fail_writes(1, "disk full");
  auto res = ask(c, add_atom::value, int64_t{7});
  ASSERT_FALSE(res);
  EXPECT_TRUE(is(res.error(), errc::persistence_failed)) << describe(res.error());
  EXPECT_NE(describe(res.error()).find("disk full"), std::string::npos);
  // Restarted in place by its supervisor, recovered what was stored.
  EXPECT_EQ(*ask(c, total_atom::value), 5);
  EXPECT_EQ(*ask(c, add_atom::value, int64_t{1}), 6);
  self->send_exit(sup, caf::exit_reason::user_shutdown);
  settle();
}

TEST_F(EventSourced, AWriteThatRanIntoAConcurrentTransactionRunsAgain) {
  auto c = spawn_counter("d");
  ASSERT_EQ(*ask(c, add_atom::value, int64_t{5}), 5);
  // A deadlock with another node's batch aborts two attempts.
  store->fail_writes(2, "deadlock detected", errc::transaction_conflict);
  auto res = ask(c, add_atom::value, int64_t{7});
  ASSERT_TRUE(res) << describe(res.error());
  EXPECT_EQ(*res, 12);
  EXPECT_EQ(store->event_count("counter|d"), 2u);
}

TEST_F(EventSourced, AWriteThatKeepsConflictingFailsAfterFiveRetries) {
  auto c = spawn_counter("e");
  ASSERT_EQ(*ask(c, add_atom::value, int64_t{5}), 5);
  store->fail_writes(6, "deadlock detected", errc::transaction_conflict);
  auto res = ask(c, add_atom::value, int64_t{7});
  ASSERT_FALSE(res);
  EXPECT_TRUE(is(res.error(), errc::transaction_conflict))
    << describe(res.error());
  EXPECT_EQ(store->event_count("counter|e"), 1u);
}

TEST_F(EventSourced, AnUnreadableEventIsAnErrorNamingItsIdAndSequenceNumber) {
  auto c = spawn_counter("x");
  ASSERT_TRUE(ask(c, add_atom::value, int64_t{1}));
  ASSERT_TRUE(ask(c, add_atom::value, int64_t{2}));
  self->send_exit(c, caf::exit_reason::kill);
  settle();
  store->corrupt_event("counter|x", 2, "bogus.Type", "zz");
  auto again = spawn_counter("x");
  self->monitor(again);
  settle();
  caf::error reason;
  self->receive([&](caf::down_msg& dm) { reason = dm.reason; },
                caf::after(0ms) >> [] { ADD_FAILURE() << "still running"; });
  auto text = describe(reason);
  EXPECT_NE(text.find("'counter|x' sequence number 2: unknown type "
                      "'bogus.Type'"),
            std::string::npos)
    << text;
  store->corrupt_event("counter|x", 2, "troupe_test.CounterEvent",
                       std::string{"\xff\xff\xff", 3});
  auto third = spawn_counter("x");
  self->monitor(third);
  settle();
  self->receive([&](caf::down_msg& dm) { reason = dm.reason; },
                caf::after(0ms) >> [] { ADD_FAILURE() << "still running"; });
  EXPECT_NE(describe(reason).find("sequence number 2: corrupt bytes"),
            std::string::npos)
    << describe(reason);
}

TEST_F(EventSourced, RecoveryRetriesWhileTheJournalIsUnreachable) {
  store->fail_writes(2, "database down"); // taking an epoch is a write
  auto c = spawn_counter("r");
  auto rh = self->request(c, caf::infinite, total_atom::value);
  for (int i = 0; i < 10; ++i) {
    settle();
    ctx.sched->trigger_timeouts();
  }
  settle();
  int64_t total = -1;
  rh.receive([&](int64_t x) { total = x; },
             [&](caf::error& err) { FAIL() << describe(err); });
  EXPECT_EQ(total, 0);
  EXPECT_EQ(*ask(c, add_atom::value, int64_t{3}), 3);
}

// The database goes away (a restart, a failover): the write waits for the
// journal to reconnect and goes through; the actor keeps running.
TEST_F(EventSourced, AWriteWaitsOutABriefDatabaseOutage) {
  auto c = spawn_counter("o");
  ASSERT_EQ(*ask(c, add_atom::value, int64_t{5}), 5);
  store->go_away(3); // back on the fourth reconnect
  auto res = ask(c, add_atom::value, int64_t{7});
  ASSERT_TRUE(res) << describe(res.error());
  EXPECT_EQ(*res, 12);
  EXPECT_EQ(store->event_count("counter|o"), 2u);
  EXPECT_EQ(*ask(c, add_atom::value, int64_t{1}), 13);
}

// Away for longer than the window: the write fails, writing nothing.
TEST_F(EventSourced, AWriteFailsWhenTheDatabaseStaysAwayPastTheWindow) {
  auto c = spawn_counter("p");
  ASSERT_EQ(*ask(c, add_atom::value, int64_t{5}), 5);
  svc->set_outage_window(300ms);
  store->go_away(1000);
  auto res = ask(c, add_atom::value, int64_t{7});
  ASSERT_FALSE(res);
  EXPECT_TRUE(is(res.error(), errc::persistence_failed))
    << describe(res.error());
  EXPECT_EQ(store->event_count("counter|p"), 1u);
}

} // namespace
} // namespace troupe::test
