// SPDX-License-Identifier: Apache-2.0
// Erlang/OTP's supervisor_SUITE as troupe's specification, case by case, on
// the test_coordinator (the table in README.md maps each OTP case).
#include "troupe/supervision/supervisor_handle.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <caf/after.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <gtest/gtest.h>

#include "runtime/deterministic.hpp"
#include "runtime/supervision/worker.hpp"
#include "troupe/actor/spawn.hpp"
#include "troupe/error.hpp"
#include "troupe/supervision/supervisor.hpp"

using namespace std::chrono_literals;

namespace {

using troupe::child_kind;
using troupe::errc;
using troupe::restart_type;
using troupe::strategy;

using troupe::test::journal;
using counts_t =
    std::array<size_t, 4>; // OTP's [specs, active, supervisors, workers]

using get_atom = caf::atom_constant<caf::atom("get")>;
/// The child ends by itself without an error (OTP's `normal`).
using stop_atom = caf::atom_constant<caf::atom("stop")>;
/// The child ends by itself with an error (OTP's abnormal `died`).
using die_atom = caf::atom_constant<caf::atom("die")>;
/// The child ends by itself with `user_shutdown` (OTP's `{shutdown, _}`).
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
/// A handler of the child throws (troupe's restart in place).
using crash_atom = caf::atom_constant<caf::atom("crash")>;
using later_atom = caf::atom_constant<caf::atom("later")>;

caf::error died() {
  return caf::make_error(caf::sec::runtime_error, std::string{"died"});
}

const caf::error shutdown_reason{caf::exit_reason::user_shutdown};
const caf::error kill_reason{caf::exit_reason::kill};

// -- children -----------------------------------------------------------------

// OTP's supervisor_1 as a troupe actor: sums ints, ends on request, and
// writes "start <id>" and "stop <id>" into a journal that outlives it.
struct worker_state : troupe::test::journaled_state {
  static inline const char* name = "otp.worker";
};

caf::behavior worker(troupe::stateful_actor<worker_state>* self, std::string id,
                     journal log) {
  self->state.id = std::move(id);
  self->state.log = std::move(log);
  return {
      [self](int x) { return self->state.sum += x; },
      [self](get_atom) { return self->state.sum; },
      [self](stop_atom) { self->quit(); },
      [self](die_atom) { self->quit(died()); },
      [self](shutdown_atom) { self->quit(shutdown_reason); },
      [](crash_atom) { throw std::runtime_error("crash"); },
  };
}

troupe::child_spec spec(const std::string& id, journal log,
                        restart_type restart = restart_type::permanent,
                        bool significant = false) {
  troupe::child_spec s;
  s.id = id;
  s.restart = restart;
  s.significant = significant;
  s.start = [id, log](caf::actor_system& sys) {
    return troupe::spawn(sys, worker, id, log);
  };
  return s;
}

troupe::child_spec custom(const std::string& id,
                          std::function<caf::actor(caf::actor_system&)> start,
                          restart_type restart = restart_type::permanent) {
  troupe::child_spec s;
  s.id = id;
  s.restart = restart;
  s.start = std::move(start);
  return s;
}

// A plain CAF child: it cannot restart in place, so every restart of it,
// the strategy's included, calls `start` again.
caf::behavior plain(caf::event_based_actor* self) {
  return {
      [](int x) { return x; },
      [self](stop_atom) { self->quit(); },
      [self](die_atom) { self->quit(died()); },
  };
}

// Every call of a plain child's `start`, and the actors it returned.
struct incarnations {
  int calls = 0;
  std::vector<caf::actor> started;
};
using tracker = std::shared_ptr<incarnations>;

tracker make_tracker() {
  return std::make_shared<incarnations>();
}

// Which calls of `start` (1-based) fail, returning no actor (OTP's start
// function returning `{error, _}`).
using failing = std::function<bool(int)>;

failing from(int n) {
  return [n](int call) { return call >= n; };
}

failing only(int n) {
  return [n](int call) { return call == n; };
}

troupe::child_spec plain_spec(const std::string& id, tracker t,
                              failing fails = nullptr,
                              restart_type restart = restart_type::permanent,
                              bool significant = false) {
  auto s = custom(
      id,
      [t, fails](caf::actor_system& sys) -> caf::actor {
        ++t->calls;
        if (fails && fails(t->calls))
          return {};
        auto hdl = sys.spawn(plain);
        t->started.push_back(hdl);
        return hdl;
      },
      restart);
  s.significant = significant;
  return s;
}

// A child that ignores being asked to stop (OTP's child told to sleep).
caf::behavior stubborn(caf::event_based_actor* self) {
  self->set_exit_handler([](caf::exit_msg&) {});
  return {[](int x) { return x; }};
}

// A child that takes `delay` to stop when asked (OTP's supervisor_2).
caf::behavior slow(caf::event_based_actor* self, caf::timespan delay) {
  self->set_exit_handler([self, delay](caf::exit_msg& x) {
    self->delayed_send(self, delay, later_atom::value, x.reason);
  });
  return {[self](later_atom, caf::error& reason) { self->quit(reason); }};
}

// A child that ends with its own `reason`, on request or when asked to stop
// (OTP's supervisor_4).
caf::behavior own_reason(caf::event_based_actor* self, caf::error reason) {
  self->set_exit_handler(
      [self, reason](caf::exit_msg&) { self->quit(reason); });
  return {[self, reason](stop_atom) { self->quit(reason); }};
}

troupe::supervisor_flags flags(strategy s, size_t max_restarts,
                               std::chrono::milliseconds period) {
  troupe::supervisor_flags f;
  f.strategy = s;
  f.max_restarts = max_restarts;
  f.period = period;
  return f;
}

troupe::backoff one_second() {
  return {1000ms, 1000ms, 1.0, 0.0, 30000ms};
}

::testing::AssertionResult ok(const caf::error& err) {
  if (!err)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << troupe::describe(err);
}

template <class T>
::testing::AssertionResult ok(const caf::expected<T>& x) {
  return x ? ::testing::AssertionSuccess() : ok(x.error());
}

::testing::AssertionResult fails_with(const caf::error& err, errc code) {
  if (err == code)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "expected " << troupe::to_string(code) << ", got "
         << (err ? troupe::describe(err) : std::string{"success"});
}

template <class T>
::testing::AssertionResult fails_with(const caf::expected<T>& x, errc code) {
  if (x)
    return ::testing::AssertionFailure()
           << "expected " << troupe::to_string(code) << ", got success";
  return fails_with(x.error(), code);
}

// -- fixture ------------------------------------------------------------------

struct OtpSuite : ::testing::Test {
  troupe::test::deterministic ctx;
  caf::scoped_actor self{*ctx.sys};
  journal log = std::make_shared<std::vector<std::string>>();

  // -- supervisors and children -----------------------------------------------

  // Every supervisor a test spawned, stopped in TearDown if it still runs.
  std::vector<caf::actor> sups_;

  caf::actor supervisor(troupe::supervisor_flags f,
                        std::vector<troupe::child_spec> specs = {}) {
    auto sup =
        troupe::spawn_supervisor(*ctx.sys, std::move(f), std::move(specs));
    sups_.push_back(sup);
    watch(sup);
    ctx.run();
    return sup;
  }

  // A test that failed half-way leaves actors running, and the actor system
  // would wait for them forever: stop the supervisors (and so their
  // children), then let virtual time run out (shutdown times, backoffs and
  // the clients' request timeouts).
  void TearDown() override {
    for (auto i = sups_.rbegin(); i != sups_.rend(); ++i)
      caf::anon_send_exit(*i, caf::exit_reason::user_shutdown);
    ctx.run();
    ctx.sched->clock().advance_time(48h);
    ctx.run();
    ctx.sys->await_actors_before_shutdown(false);
  }

  void stop(const caf::actor& x) {
    caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
    ctx.run();
  }

  void kill(const caf::actor& x) {
    if (!x) {
      ADD_FAILURE() << "kill: no actor";
      return;
    }
    watch(x);
    caf::anon_send_exit(x, caf::exit_reason::kill);
    ctx.run();
  }

  template <class... Ts>
  void send(const caf::actor& x, Ts&&... xs) {
    if (!x) {
      ADD_FAILURE() << "send: no actor";
      return;
    }
    watch(x);
    caf::anon_send(x, std::forward<Ts>(xs)...);
    ctx.run();
  }

  void advance(caf::timespan t) {
    ctx.sched->clock().advance_time(t);
    ctx.run();
  }

  int sum_of(const caf::actor& x) {
    auto rh = self->request(x, caf::infinite, get_atom::value);
    ctx.run();
    int result = -1;
    rh.receive([&](int sum) { result = sum; }, [](caf::error&) {});
    return result;
  }

  void add(const caf::actor& x, int n) {
    auto rh = self->request(x, caf::infinite, n);
    ctx.run();
    rh.receive([](int) {}, [](caf::error&) {});
  }

  size_t count(const std::string& line) const {
    return static_cast<size_t>(std::count(log->begin(), log->end(), line));
  }

  // -- the OTP API, through supervisor_handle's asynchronous forms ------------

  // No timeout fires in these tests: virtual time never gets that far.
  static troupe::supervisor_handle api(const caf::actor& sup) {
    return troupe::supervisor_handle{sup, std::chrono::hours{1}};
  }

  // Makes a client actor issue one call; the reply lands in the result once
  // the test_coordinator ran far enough.
  template <class R, class F>
  std::shared_ptr<std::optional<R>> issue(F f) {
    auto out = std::make_shared<std::optional<R>>();
    ctx.sys->spawn([f, out](caf::event_based_actor* client) {
      f(client, [out](R x) { *out = std::move(x); });
    });
    return out;
  }

  template <class R, class F>
  R call(F f) {
    auto out = issue<R>(std::move(f));
    ctx.run();
    if (!*out)
      return R{caf::make_error(caf::sec::request_timeout)}; // no reply (yet)
    return std::move(**out);
  }

  caf::expected<troupe::child_status> start_child(const caf::actor& sup,
                                                  troupe::child_spec s) {
    return call<caf::expected<troupe::child_status>>(
        [h = api(sup), s](caf::event_based_actor* c, auto done) {
          h.start_child(c, s, std::move(done));
        });
  }

  caf::expected<caf::actor> restart_child(const caf::actor& sup,
                                          const std::string& id) {
    return call<caf::expected<caf::actor>>(
        [h = api(sup), id](caf::event_based_actor* c, auto done) {
          h.restart_child(c, id, std::move(done));
        });
  }

  caf::error terminate_child(const caf::actor& sup, const std::string& id) {
    return call<caf::error>(
        [h = api(sup), id](caf::event_based_actor* c, auto done) {
          h.terminate_child(c, id, std::move(done));
        });
  }

  caf::error delete_child(const caf::actor& sup, const std::string& id) {
    return call<caf::error>(
        [h = api(sup), id](caf::event_based_actor* c, auto done) {
          h.delete_child(c, id, std::move(done));
        });
  }

  caf::expected<std::vector<troupe::child_status>>
  which_children(const caf::actor& sup) {
    return call<caf::expected<std::vector<troupe::child_status>>>(
        [h = api(sup)](caf::event_based_actor* c, auto done) {
          h.which_children(c, std::move(done));
        });
  }

  std::vector<troupe::child_status> which(const caf::actor& sup) {
    auto res = which_children(sup);
    EXPECT_TRUE(ok(res));
    return res ? *res : std::vector<troupe::child_status>{};
  }

  counts_t counts(const caf::actor& sup) {
    auto res = call<caf::expected<troupe::child_counts>>(
        [h = api(sup)](caf::event_based_actor* c, auto done) {
          h.count_children(c, std::move(done));
        });
    EXPECT_TRUE(ok(res));
    if (!res)
      return {99, 99, 99, 99};
    return {res->specs, res->active, res->supervisors, res->workers};
  }

  caf::expected<troupe::child_spec> get_childspec(const caf::actor& sup,
                                                  const std::string& id) {
    return call<caf::expected<troupe::child_spec>>(
        [h = api(sup), id](caf::event_based_actor* c, auto done) {
          h.get_childspec(c, id, std::move(done));
        });
  }

  std::optional<troupe::child_status> status(const caf::actor& sup,
                                             const std::string& id) {
    for (auto& k : which(sup))
      if (k.id == id)
        return k;
    return std::nullopt;
  }

  // The running incarnation of child `id`, or none.
  caf::actor handle_of(const caf::actor& sup, const std::string& id) {
    auto st = status(sup, id);
    return st && st->running ? st->handle : caf::actor{};
  }

  // -- shared steps of several cases ------------------------------------------

  // OTP's usual supervisor: one_for_one, at most 2 restarts an hour.
  caf::actor one_for_one_sup() {
    return supervisor(flags(strategy::one_for_one, 2, 3600s));
  }

  // Starts each of `specs` under `sup` and watches it: the handles, in order
  // (none for a child that did not start).
  std::vector<caf::actor> start_watched(const caf::actor& sup,
                                        std::vector<troupe::child_spec> specs) {
    std::vector<caf::actor> hs;
    for (auto& s : specs) {
      auto st = start_child(sup, s);
      EXPECT_TRUE(ok(st)) << s.id;
      hs.push_back(st ? st->handle : caf::actor{});
      watch(hs.back());
    }
    return hs;
  }

  // The termination groups: one_for_one_sup() with child1 (a worker), and
  // child1's handle.
  std::pair<caf::actor, caf::actor> sup_with_child1(restart_type restart) {
    auto sup = one_for_one_sup();
    EXPECT_TRUE(ok(start_child(sup, spec("child1", log, restart))));
    return {sup, handle_of(sup, "child1")};
  }

  // child1 of `sup` runs again, as a new actor (not `before`), and is the
  // one child: its handle, or none.
  caf::actor restarted_child1(const caf::actor& sup, const caf::actor& before,
                              const std::string& when) {
    auto h = handle_of(sup, "child1");
    EXPECT_TRUE(h) << "not restarted " << when;
    EXPECT_NE(h, before);
    EXPECT_EQ(counts(sup), (counts_t{1, 1, 0, 1}));
    return h;
  }

  // A child that ends with its own `reason` when asked to stop (or on
  // stop_atom), counting its starts in `starts`.
  static troupe::child_spec own_reason_spec(const std::string& id,
                                            std::shared_ptr<int> starts,
                                            caf::error reason,
                                            restart_type restart) {
    return custom(
        id,
        [starts, reason](caf::actor_system& sys) {
          ++*starts;
          return sys.spawn(own_reason, reason);
        },
        restart);
  }

  // restart_one_for_one/one_for_all: child1 and child2 (workers) under `s`;
  // child2 gets some state, then child1 dies. The supervisor and the two
  // handles from before the death.
  std::array<caf::actor, 3> pair_after_first_dies(strategy s) {
    auto sup = supervisor(flags(s, 2, 3600s));
    EXPECT_TRUE(ok(start_child(sup, spec("child1", log))));
    EXPECT_TRUE(ok(start_child(sup, spec("child2", log))));
    auto c1 = handle_of(sup, "child1");
    auto c2 = handle_of(sup, "child2");
    add(c2, 1);
    send(c1, die_atom::value);
    return {sup, c1, c2};
  }

  // The *_escalation cases: child1, a worker, dies, and the strategy's restart
  // of child2, a plain child that cannot start twice, fails: the supervisor
  // escalates.
  void expect_escalation_when_child2_cannot_restart(strategy s) {
    auto t = make_tracker();
    auto sup = supervisor(flags(s, 4, 3600s));
    ASSERT_TRUE(ok(start_child(sup, spec("child1", log))));
    ASSERT_TRUE(ok(start_child(sup, plain_spec("child2", t, from(2)))));
    auto c2 = t->started.at(0);
    watch(c2);
    send(handle_of(sup, "child1"), die_atom::value);
    EXPECT_TRUE(down(c2));
    EXPECT_TRUE(ended_with(sup, errc::escalated));
  }

  // The *_other_child_fails_restart cases: plain children child1 and child2,
  // whose second start fails, under `s`.
  caf::actor sup_where_child2_fails_once(strategy s, const tracker& t1,
                                         const tracker& t2) {
    return supervisor(flags(s, 3, 3600s), {plain_spec("child1", t1),
                                           plain_spec("child2", t2, only(2))});
  }

  // `sup` runs and lists exactly two running children, `first` and `second`.
  void expect_running_pair(const caf::actor& sup, const caf::actor& first,
                           const caf::actor& second) {
    auto kids = which(sup);
    ASSERT_EQ(kids.size(), 2u);
    EXPECT_EQ(kids[0].handle, first);
    EXPECT_EQ(kids[1].handle, second);
    EXPECT_TRUE(kids[0].running && kids[1].running);
    EXPECT_TRUE(still_up(sup));
  }

  // The significant-children cases: a supervisor with `mode` and, all with
  // `restart`, the significant child1 and child2 and the non-significant
  // child3, started and watched.
  std::pair<caf::actor, std::vector<caf::actor>>
  significant_trio(restart_type restart, troupe::auto_shutdown mode) {
    troupe::supervisor_flags f;
    f.auto_shutdown = mode;
    f.max_restarts = 5;
    auto sup = supervisor(f);
    return {sup, start_watched(sup, {spec("child1", log, restart, true),
                                     spec("child2", log, restart, true),
                                     spec("child3", log, restart, false)})};
  }

  // all_significant: the supervisor shuts down once child1 and child2 both
  // ended normally, and stops child3.
  void expect_all_significant_waits_for_both(restart_type restart) {
    auto [sup, hs] =
        significant_trio(restart, troupe::auto_shutdown::all_significant);
    send(hs[0], stop_atom::value);
    EXPECT_TRUE(still_up(hs[1]));
    EXPECT_TRUE(still_up(hs[2]));
    EXPECT_TRUE(still_up(sup));
    send(hs[1], stop_atom::value);
    EXPECT_TRUE(ended_with(sup, shutdown_reason));
    EXPECT_TRUE(down(hs[2]));
  }

  // Kills every child of `sup`; then it counts none.
  void kill_all_children(const caf::actor& sup) {
    for (auto& k : which(sup))
      caf::anon_send_exit(k.handle, caf::exit_reason::kill);
    ctx.run();
    EXPECT_EQ(counts(sup), (counts_t{0, 0, 0, 0}));
  }

  // -- exits ------------------------------------------------------------------

  std::set<caf::actor_addr> watched_;
  std::map<caf::actor_addr, caf::error> downs_;

  void watch(const caf::actor& x) {
    if (x && watched_.insert(x.address()).second)
      self->monitor(x);
  }

  std::optional<caf::error> exit_reason(const caf::actor& x) {
    watch(x);
    for (bool more = true; more;)
      self->receive([&](caf::down_msg& dm) { downs_[dm.source] = dm.reason; },
                    caf::after(0s) >> [&] { more = false; });
    auto i = downs_.find(x.address());
    if (i == downs_.end())
      return std::nullopt;
    return i->second;
  }

  ::testing::AssertionResult down(const caf::actor& x) {
    if (!x)
      return ::testing::AssertionFailure() << "no actor";
    if (exit_reason(x))
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "still running";
  }

  ::testing::AssertionResult still_up(const caf::actor& x) {
    if (!x)
      return ::testing::AssertionFailure() << "no actor";
    if (auto r = exit_reason(x))
      return ::testing::AssertionFailure()
             << "ended with " << troupe::describe(*r);
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult ended_with(const caf::actor& x,
                                        const caf::error& expected) {
    if (!x)
      return ::testing::AssertionFailure() << "no actor";
    auto r = exit_reason(x);
    if (!r)
      return ::testing::AssertionFailure() << "still running";
    if (*r == expected)
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "ended with " << troupe::describe(*r) << ", expected "
           << troupe::describe(expected);
  }

  ::testing::AssertionResult ended_with(const caf::actor& x, errc code) {
    return ended_with(x, troupe::make_error(code));
  }
};

} // namespace

// -- group sup_start ----------------------------------------------------------

TEST_F(OtpSuite, SupStartNormalStartsWithoutChildrenAndStopsOnShutdown) {
  auto sup = one_for_one_sup();
  EXPECT_TRUE(which(sup).empty());
  EXPECT_TRUE(still_up(sup));
  stop(sup);
  EXPECT_TRUE(ended_with(sup, shutdown_reason));
}

TEST_F(OtpSuite, SupStartChildReturnsErrorAddsNoChild) {
  auto sup = one_for_one_sup();
  auto none = custom("child1", [](caf::actor_system&) { return caf::actor{}; });
  auto throws = custom("child2", [](caf::actor_system&) -> caf::actor {
    throw std::runtime_error("no start");
  });
  EXPECT_FALSE(start_child(sup, none));
  EXPECT_FALSE(start_child(sup, throws));
  EXPECT_TRUE(which(sup).empty());
  EXPECT_TRUE(still_up(sup)) << "a failed start_child is the caller's error";
  EXPECT_TRUE(ok(start_child(sup, spec("child1", log))))
      << "the failed start kept the id";
  stop(sup);
}

TEST_F(OtpSuite, SupStartRestartChildReturnsErrorKeepsTheChildDown) {
  auto t = make_tracker();
  auto sup = supervisor(flags(strategy::one_for_one, 2, 3600s),
                        {plain_spec("child1", t, from(2))});
  ASSERT_TRUE(handle_of(sup, "child1"));
  EXPECT_TRUE(ok(terminate_child(sup, "child1")));
  EXPECT_FALSE(restart_child(sup, "child1"));
  auto kids = which(sup);
  ASSERT_EQ(kids.size(), 1u);
  EXPECT_EQ(kids[0].id, "child1");
  EXPECT_FALSE(kids[0].running);
  EXPECT_TRUE(still_up(sup));
  stop(sup);
}

// -- group sup_start_map ------------------------------------------------------

TEST_F(OtpSuite, SupStartMapFillsInDefaultsAndGetChildspecReturnsTheSpec) {
  auto c1 = custom("child1", spec("child1", log).start);
  auto c2 = custom("child2", spec("child2", log).start);
  c2.shutdown = 0ms; // brutal_kill
  auto c3 = custom("child3", [](caf::actor_system& sys) {
    return troupe::spawn_supervisor(sys, {}, {});
  });
  c3.kind = child_kind::supervisor;
  auto sup = supervisor({}, {c1, c2, c3});
  auto s1 = get_childspec(sup, "child1");
  ASSERT_TRUE(ok(s1));
  EXPECT_EQ(s1->id, "child1");
  EXPECT_TRUE(s1->start);
  EXPECT_EQ(s1->restart, restart_type::permanent);
  EXPECT_EQ(s1->shutdown, 5000ms);
  EXPECT_EQ(s1->kind, child_kind::worker);
  EXPECT_FALSE(s1->significant);
  EXPECT_TRUE(s1->global_name.empty());
  EXPECT_FALSE(s1->mailbox.bounded());
  auto s2 = get_childspec(sup, "child2");
  ASSERT_TRUE(ok(s2));
  EXPECT_EQ(s2->shutdown, 0ms);
  EXPECT_EQ(s2->restart, restart_type::permanent);
  auto s3 = get_childspec(sup, "child3");
  ASSERT_TRUE(ok(s3));
  EXPECT_EQ(s3->kind, child_kind::supervisor);
  EXPECT_EQ(s3->shutdown, 5000ms) << "one default for every kind (OTP: "
                                     "infinity for a supervisor)";
  EXPECT_TRUE(fails_with(get_childspec(sup, "child4"), errc::name_not_found));
  stop(sup);
}

TEST_F(OtpSuite, SupStartMapFaultySpecsAreRefusedBeforeAnyChildStarts) {
  auto no_id = spec("", log);
  troupe::child_spec no_start;
  no_start.id = "child2";
  using handle = troupe::supervisor_handle;
  EXPECT_TRUE(fails_with(handle::check_childspecs({no_id}), errc::bad_config));
  EXPECT_TRUE(
      fails_with(handle::check_childspecs({no_start}), errc::bad_config));
  for (auto& bad : {no_id, no_start}) {
    SCOPED_TRACE("bad spec '" + bad.id + "'");
    auto sup = supervisor({}, {spec("good", log), bad});
    EXPECT_TRUE(ended_with(sup, errc::bad_config));
  }
  EXPECT_EQ(count("start good"), 0u)
      << "a child started from a list of specs that is refused";
}

// -- group sup_stop -----------------------------------------------------------

TEST_F(OtpSuite, SupStopInfinityStopsWorkerAndSupervisorChildrenWithShutdown) {
  auto sup = one_for_one_sup();
  auto c1 = custom("child1", [](caf::actor_system& sys) {
    return troupe::spawn_supervisor(sys, {}, {});
  });
  c1.kind = child_kind::supervisor;
  c1.shutdown = 24h; // troupe has no `infinity`: a day stands in for it
  auto c2 = spec("child2", log);
  c2.shutdown = 24h;
  auto hs = start_watched(sup, {c1, c2});
  ASSERT_TRUE(hs[0] && hs[1]);
  stop(sup); // no virtual time passes
  EXPECT_TRUE(ended_with(hs[0], shutdown_reason));
  EXPECT_TRUE(ended_with(hs[1], shutdown_reason));
  EXPECT_TRUE(ended_with(sup, shutdown_reason));
}

TEST_F(OtpSuite, SupStopTimeoutKillsAChildThatOutlivesItsShutdownTime) {
  auto sup = one_for_one_sup();
  auto c1 = spec("child1", log);
  c1.shutdown = 1000ms;
  auto c2 = custom("child2",
                   [](caf::actor_system& sys) { return sys.spawn(stubborn); });
  c2.shutdown = 1000ms;
  auto hs = start_watched(sup, {c1, c2});
  ASSERT_TRUE(hs[0] && hs[1]);
  stop(sup);
  EXPECT_TRUE(still_up(hs[1])) << "killed before its shutdown time";
  advance(1000ms);
  EXPECT_TRUE(ended_with(hs[0], shutdown_reason));
  EXPECT_TRUE(ended_with(hs[1], kill_reason));
  EXPECT_TRUE(ended_with(sup, shutdown_reason));
}

// OTP's simple_one_for_one children are troupe's children added by
// start_child.
TEST_F(OtpSuite, SupStopTimeoutDynamicKillsADynamicChildAfterItsTime) {
  auto sup = one_for_one_sup();
  auto c1 = spec("child1", log, restart_type::temporary);
  c1.shutdown = 1000ms;
  auto c2 = custom(
      "child2", [](caf::actor_system& sys) { return sys.spawn(stubborn); },
      restart_type::temporary);
  c2.shutdown = 1000ms;
  auto hs = start_watched(sup, {c1, c2});
  ASSERT_TRUE(hs[0] && hs[1]);
  stop(sup);
  EXPECT_TRUE(still_up(hs[1]));
  advance(1000ms);
  EXPECT_TRUE(ended_with(sup, shutdown_reason));
  EXPECT_TRUE(ended_with(hs[0], shutdown_reason));
  EXPECT_TRUE(ended_with(hs[1], kill_reason));
}

TEST_F(OtpSuite, SupStopBrutalKillKillsAChildWithZeroShutdownTime) {
  auto sup = one_for_one_sup();
  auto c1 = spec("child1", log);
  c1.shutdown = 1000ms;
  auto c2 = spec("child2", log);
  c2.shutdown = 0ms;
  auto hs = start_watched(sup, {c1, c2});
  ASSERT_TRUE(hs[0] && hs[1]);
  stop(sup);
  EXPECT_TRUE(ended_with(hs[0], shutdown_reason));
  EXPECT_TRUE(ended_with(hs[1], kill_reason));
  EXPECT_TRUE(ended_with(sup, shutdown_reason));
}

TEST_F(OtpSuite, SupStopBrutalKillDynamicKillsEveryDynamicChild) {
  auto sup = one_for_one_sup();
  std::vector<caf::actor> kids;
  for (int i = 1; i <= 10; ++i) {
    auto c = spec("child" + std::to_string(i), log, restart_type::temporary);
    c.shutdown = 0ms;
    auto st = start_child(sup, c);
    ASSERT_TRUE(ok(st));
    watch(st->handle);
    kids.push_back(st->handle);
  }
  stop(sup);
  EXPECT_TRUE(ended_with(sup, shutdown_reason));
  for (auto& k : kids)
    EXPECT_TRUE(ended_with(k, kill_reason));
}

TEST_F(OtpSuite, SupStopRaceFinishesWhileChildrenEndOnTheirOwn) {
  auto sup = one_for_one_sup();
  auto starts = std::make_shared<int>(0);
  auto a = spec("child_a", log, restart_type::temporary);
  a.shutdown = 1000ms;
  auto ha = start_child(sup, a);
  ASSERT_TRUE(ok(ha));
  watch(ha->handle);
  std::vector<std::pair<caf::actor, caf::error>> racers;
  int n = 0;
  for (auto restart : {restart_type::temporary, restart_type::transient,
                       restart_type::permanent})
    for (auto& reason : {caf::error{}, shutdown_reason, died()}) {
      auto c = own_reason_spec("child" + std::to_string(++n), starts, reason,
                               restart);
      c.shutdown = 1000ms;
      auto st = start_child(sup, c);
      ASSERT_TRUE(ok(st));
      watch(st->handle);
      racers.emplace_back(st->handle, reason);
    }
  auto z = custom(
      "child_z",
      [](caf::actor_system& sys) {
        return sys.spawn(slow, caf::timespan{1000ms});
      },
      restart_type::temporary);
  z.shutdown = 2000ms;
  auto hz = start_child(sup, z);
  ASSERT_TRUE(ok(hz));
  watch(hz->handle);
  // The supervisor stops child_z first, which takes a second; meanwhile
  // every other child ends by itself.
  stop(sup);
  EXPECT_TRUE(still_up(hz->handle));
  for (auto& r : racers)
    caf::anon_send(r.first, stop_atom::value);
  ctx.run();
  advance(1000ms);
  EXPECT_TRUE(ended_with(sup, shutdown_reason));
  EXPECT_TRUE(ended_with(hz->handle, shutdown_reason));
  for (auto& r : racers)
    EXPECT_TRUE(ended_with(r.first, r.second));
  EXPECT_TRUE(ended_with(ha->handle, shutdown_reason));
  EXPECT_EQ(*starts, 9) << "a child was restarted while its supervisor stops";
  EXPECT_EQ(count("start child_a"), 1u);
}

TEST_F(OtpSuite, SupStopNonShutdownExitDynamicEndsEachChildWithItsReason) {
  for (auto restart : {restart_type::temporary, restart_type::transient,
                       restart_type::permanent}) {
    SCOPED_TRACE("restart type " + std::to_string(static_cast<int>(restart)));
    auto starts = std::make_shared<int>(0);
    auto sup = one_for_one_sup();
    std::vector<std::pair<caf::actor, caf::error>> kids;
    int n = 0;
    for (auto& reason : {caf::error{}, shutdown_reason, died()}) {
      auto c = own_reason_spec("child" + std::to_string(++n), starts, reason,
                               restart);
      auto st = start_child(sup, c);
      ASSERT_TRUE(ok(st));
      watch(st->handle);
      kids.emplace_back(st->handle, reason);
    }
    stop(sup);
    EXPECT_TRUE(ended_with(sup, shutdown_reason));
    for (auto& k : kids)
      EXPECT_TRUE(ended_with(k.first, k.second));
    EXPECT_EQ(*starts, 3);
  }
}

// -- API ----------------------------------------------------------------------

TEST_F(OtpSuite, ChildAdmStartTerminateRestartAndDeleteFollowOtp) {
  auto child1 = spec("child1", log);
  auto sup = supervisor(flags(strategy::one_for_one, 2, 3600s), {child1});
  auto cpid = handle_of(sup, "child1");
  ASSERT_TRUE(cpid);
  EXPECT_EQ(counts(sup), (counts_t{1, 1, 0, 1}));
  watch(cpid);
  // Start of a child that runs: already started.
  EXPECT_TRUE(fails_with(start_child(sup, child1), errc::bad_config));
  // Termination keeps the spec.
  EXPECT_TRUE(fails_with(terminate_child(sup, "hej"), errc::name_not_found));
  EXPECT_TRUE(ok(terminate_child(sup, "child1")));
  EXPECT_TRUE(ended_with(cpid, shutdown_reason));
  auto st = status(sup, "child1");
  ASSERT_TRUE(st);
  EXPECT_FALSE(st->running);
  EXPECT_EQ(counts(sup), (counts_t{1, 0, 0, 1}));
  EXPECT_TRUE(ok(terminate_child(sup, "child1"))) << "terminating it again";
  // Start of a child whose spec is kept: already present.
  EXPECT_TRUE(fails_with(start_child(sup, child1), errc::bad_config));
  // Restart.
  auto cpid2 = restart_child(sup, "child1");
  ASSERT_TRUE(ok(cpid2));
  EXPECT_NE(*cpid2, cpid);
  EXPECT_EQ(handle_of(sup, "child1"), *cpid2);
  EXPECT_EQ(counts(sup), (counts_t{1, 1, 0, 1}));
  EXPECT_TRUE(fails_with(restart_child(sup, "child1"), errc::child_running));
  EXPECT_TRUE(fails_with(restart_child(sup, "child2"), errc::name_not_found));
  // Deletion.
  EXPECT_TRUE(fails_with(delete_child(sup, "child1"), errc::child_running));
  EXPECT_TRUE(fails_with(delete_child(sup, "hej"), errc::name_not_found));
  EXPECT_TRUE(ok(terminate_child(sup, "child1")));
  EXPECT_TRUE(ok(delete_child(sup, "child1")));
  EXPECT_TRUE(fails_with(restart_child(sup, "child1"), errc::name_not_found));
  EXPECT_TRUE(which(sup).empty());
  EXPECT_EQ(counts(sup), (counts_t{0, 0, 0, 0}));
  // Start.
  auto cpid3 = start_child(sup, child1);
  ASSERT_TRUE(ok(cpid3));
  EXPECT_TRUE(cpid3->running);
  EXPECT_EQ(handle_of(sup, "child1"), cpid3->handle);
  EXPECT_EQ(counts(sup), (counts_t{1, 1, 0, 1}));
  // Calls to a supervisor that is gone fail (OTP: noproc).
  auto gone = supervisor({});
  stop(gone);
  EXPECT_FALSE(which_children(gone));
  EXPECT_FALSE(start_child(gone, child1));
  EXPECT_TRUE(terminate_child(gone, "child1"));
  stop(sup);
}

TEST_F(OtpSuite, ChildSpecsCheckAcceptsValidSpecsAndRefusesBadOnes) {
  using handle = troupe::supervisor_handle;
  for (auto restart : {restart_type::permanent, restart_type::transient,
                       restart_type::temporary})
    for (auto shutdown : {0ms, 1000ms, std::chrono::milliseconds{24h}})
      for (auto kind : {child_kind::supervisor, child_kind::worker}) {
        auto c = spec("child", log, restart);
        c.shutdown = shutdown;
        c.kind = kind;
        EXPECT_TRUE(ok(handle::check_childspecs({c})))
            << static_cast<int>(restart) << " " << shutdown.count() << " "
            << static_cast<int>(kind);
      }
  auto c1 = spec("child", log);
  c1.shutdown = 24h;
  c1.kind = child_kind::supervisor;
  auto c2 = spec("child", log);
  c2.shutdown = 1000ms;
  c2.kind = child_kind::supervisor;
  EXPECT_TRUE(fails_with(handle::check_childspecs({c1, c2}), errc::bad_config))
      << "duplicate child id";
  auto negative = spec("child", log);
  negative.shutdown = -10ms;
  EXPECT_TRUE(
      fails_with(handle::check_childspecs({negative}), errc::bad_config));
  // start_child refuses what the check refuses, and adds nothing.
  auto sup = one_for_one_sup();
  EXPECT_TRUE(fails_with(start_child(sup, negative), errc::bad_config));
  troupe::child_spec no_start;
  no_start.id = "child";
  EXPECT_TRUE(fails_with(start_child(sup, no_start), errc::bad_config));
  EXPECT_TRUE(which(sup).empty());
  EXPECT_EQ(count("start child"), 0u);
  stop(sup);
}

TEST_F(OtpSuite, ChildSpecsMapAllowsSignificantChildrenOnlyWhereTheyCanEnd) {
  using handle = troupe::supervisor_handle;
  using troupe::auto_shutdown;
  auto no_id = spec("", log);
  troupe::child_spec no_start;
  no_start.id = "child";
  EXPECT_TRUE(fails_with(handle::check_childspecs({no_id}), errc::bad_config));
  EXPECT_TRUE(
      fails_with(handle::check_childspecs({no_start}), errc::bad_config));
  for (auto mode : {auto_shutdown::never, auto_shutdown::any_significant,
                    auto_shutdown::all_significant})
    for (auto restart : {restart_type::permanent, restart_type::transient,
                         restart_type::temporary})
      for (auto kind : {child_kind::supervisor, child_kind::worker})
        for (bool significant : {false, true}) {
          auto c = spec("child", log, restart, significant);
          c.kind = kind;
          auto err = handle::check_childspecs({c}, mode);
          auto what = ::testing::Message()
                      << "auto_shutdown " << static_cast<int>(mode)
                      << ", restart " << static_cast<int>(restart)
                      << ", significant " << significant;
          if (significant && (mode == auto_shutdown::never ||
                              restart == restart_type::permanent))
            EXPECT_TRUE(fails_with(err, errc::bad_config)) << what;
          else
            EXPECT_TRUE(ok(err)) << what;
        }
  auto cs0 = spec("child", log);
  EXPECT_TRUE(
      fails_with(handle::check_childspecs({cs0, cs0}), errc::bad_config));
  // auto_shutdown never: no significant child, at start or at run time.
  auto sig = spec("child", log, restart_type::transient, true);
  auto refused = supervisor({}, {sig});
  EXPECT_TRUE(ended_with(refused, errc::bad_config));
  EXPECT_EQ(count("start child"), 0u);
  auto never = supervisor({});
  EXPECT_TRUE(fails_with(start_child(never, sig), errc::bad_config));
  auto any = troupe::supervisor_flags{};
  any.auto_shutdown = auto_shutdown::any_significant;
  auto sup = supervisor(any);
  EXPECT_TRUE(fails_with(
      start_child(sup, spec("perm", log, restart_type::permanent, true)),
      errc::bad_config));
  EXPECT_TRUE(ok(start_child(sup, sig)));
  stop(never);
  stop(sup);
}

// The flags are typed (no invalid strategy, intensity or auto_shutdown can
// be written), but a period can be zero or negative, which OTP refuses: it
// would turn the restart intensity off.
TEST_F(OtpSuite, SupFlagsRefuseAPeriodThatIsNotPositive) {
  for (auto period : {0ms, -1000ms}) {
    SCOPED_TRACE("period " + std::to_string(period.count()));
    auto sup = supervisor(flags(strategy::one_for_one, 2, period),
                          {spec("child", log)});
    EXPECT_TRUE(ended_with(sup, errc::bad_config));
  }
  EXPECT_EQ(count("start child"), 0u);
  // An intensity of zero is valid.
  auto sup =
      supervisor(flags(strategy::one_for_one, 0, 1000ms), {spec("child", log)});
  EXPECT_TRUE(still_up(sup));
  stop(sup);
}

TEST_F(OtpSuite, MultipleRestartsSpacedBeyondThePeriodNeverEscalate) {
  auto sup = supervisor(flags(strategy::one_for_one, 1, 1000ms));
  auto c = spec("child1", log);
  c.shutdown = 0ms;
  ASSERT_TRUE(ok(start_child(sup, c)));
  send(handle_of(sup, "child1"), die_atom::value);
  for (int i = 0; i < 3; ++i) {
    advance(2100ms);
    auto h = handle_of(sup, "child1");
    ASSERT_TRUE(h);
    send(h, die_atom::value);
  }
  EXPECT_TRUE(still_up(sup));
  auto st = status(sup, "child1");
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->running);
  EXPECT_EQ(st->restarts, 4u);
  EXPECT_TRUE(ok(terminate_child(sup, "child1")));
  EXPECT_TRUE(ok(delete_child(sup, "child1")));
  EXPECT_TRUE(which(sup).empty());
  stop(sup);
}

// -- group restart_one_for_one ------------------------------------------------

TEST_F(OtpSuite, OneForOneRestartsOnlyTheDeadChildThenEscalates) {
  auto [sup, c1, c2] = pair_after_first_dies(strategy::one_for_one);
  auto kids = which(sup);
  ASSERT_EQ(kids.size(), 2u);
  EXPECT_TRUE(kids[0].running);
  EXPECT_NE(kids[0].handle, c1);
  EXPECT_EQ(kids[1].handle, c2);
  EXPECT_EQ(sum_of(c2), 1) << "child2 was restarted";
  EXPECT_EQ(counts(sup), (counts_t{2, 2, 0, 2}));
  // The restart intensity: a third restart within the period is too many.
  send(c2, die_atom::value);
  EXPECT_TRUE(still_up(sup));
  send(which(sup).at(0).handle, die_atom::value);
  EXPECT_TRUE(ended_with(sup, errc::escalated));
}

TEST_F(OtpSuite, OneForOneEscalationWhenAChildCannotBeRestarted) {
  auto t = make_tracker();
  auto sup = supervisor(flags(strategy::one_for_one, 4, 3600s));
  ASSERT_TRUE(ok(start_child(sup, plain_spec("child1", t, from(2)))));
  ASSERT_TRUE(ok(start_child(sup, spec("child2", log))));
  auto c2 = handle_of(sup, "child2");
  watch(c2);
  send(t->started.at(0), die_atom::value);
  EXPECT_TRUE(ended_with(sup, errc::escalated));
  EXPECT_TRUE(ended_with(c2, shutdown_reason));
}

// -- group restart_one_for_all ------------------------------------------------

TEST_F(OtpSuite, OneForAllRestartsEveryChildThenEscalates) {
  auto [sup, c1, c2] = pair_after_first_dies(strategy::one_for_all);
  auto kids = which(sup);
  ASSERT_EQ(kids.size(), 2u);
  EXPECT_TRUE(kids[0].running);
  EXPECT_TRUE(kids[1].running);
  EXPECT_NE(kids[0].handle, c1);
  EXPECT_EQ(sum_of(kids[1].handle), 0) << "child2 was not restarted";
  EXPECT_EQ(count("start child2"), 2u);
  EXPECT_EQ(counts(sup), (counts_t{2, 2, 0, 2}));
  send(which(sup).at(0).handle, die_atom::value);
  EXPECT_TRUE(still_up(sup));
  send(which(sup).at(0).handle, die_atom::value);
  EXPECT_TRUE(ended_with(sup, errc::escalated));
}

TEST_F(OtpSuite, OneForAllEscalationWhenASiblingCannotBeRestarted) {
  expect_escalation_when_child2_cannot_restart(strategy::one_for_all);
}

TEST_F(OtpSuite,
       OneForAllOtherChildFailsRestartStopsTheRestartedOneAndRetries) {
  auto t1 = make_tracker();
  auto t2 = make_tracker();
  auto sup = sup_where_child2_fails_once(strategy::one_for_all, t1, t2);
  ASSERT_EQ(t1->started.size(), 1u);
  ASSERT_EQ(t2->started.size(), 1u);
  send(t1->started[0], die_atom::value);
  // child1 came back, child2 did not: the child1 of the failed round is
  // stopped, and the round is tried again. troupe stops it with the
  // strategy's own exit reason, restart_requested (OTP: shutdown).
  ASSERT_EQ(t1->started.size(), 3u);
  EXPECT_TRUE(ended_with(t1->started[1], errc::restart_requested));
  EXPECT_EQ(t2->calls, 3);
  expect_running_pair(sup, t1->started[2], t2->started.back());
  stop(sup);
}

// -- group restart_rest_for_one -----------------------------------------------

TEST_F(OtpSuite, RestForOneRestartsTheDeadChildAndLaterOnesThenEscalates) {
  auto sup = supervisor(flags(strategy::rest_for_one, 2, 3600s));
  for (auto id : {"child1", "child2", "child3"})
    ASSERT_TRUE(ok(start_child(sup, spec(id, log))));
  EXPECT_EQ(counts(sup), (counts_t{3, 3, 0, 3}));
  auto before = which(sup);
  for (auto& k : before)
    add(k.handle, 1);
  send(before[1].handle, die_atom::value);
  auto kids = which(sup);
  ASSERT_EQ(kids.size(), 3u);
  EXPECT_EQ(kids[0].handle, before[0].handle);
  EXPECT_EQ(sum_of(kids[0].handle), 1) << "child1 was restarted";
  EXPECT_NE(kids[1].handle, before[1].handle);
  EXPECT_EQ(sum_of(kids[2].handle), 0) << "child3 was not restarted";
  EXPECT_EQ(count("start child1"), 1u);
  EXPECT_EQ(count("start child3"), 2u);
  EXPECT_EQ(counts(sup), (counts_t{3, 3, 0, 3}));
  send(kids[2].handle, die_atom::value);
  EXPECT_TRUE(still_up(sup));
  send(which(sup).at(1).handle, die_atom::value);
  EXPECT_TRUE(ended_with(sup, errc::escalated));
}

TEST_F(OtpSuite, RestForOneEscalationWhenALaterChildCannotBeRestarted) {
  expect_escalation_when_child2_cannot_restart(strategy::rest_for_one);
}

TEST_F(OtpSuite, RestForOneOtherChildFailsRestartRetriesOnlyFromThatChild) {
  auto t1 = make_tracker();
  auto t2 = make_tracker();
  auto sup = sup_where_child2_fails_once(strategy::rest_for_one, t1, t2);
  send(t1->started.at(0), die_atom::value);
  ASSERT_EQ(t1->started.size(), 2u) << "child1 was restarted twice";
  EXPECT_TRUE(still_up(t1->started[1]));
  EXPECT_EQ(t2->calls, 3);
  expect_running_pair(sup, t1->started[1], t2->started.back());
  stop(sup);
}

// -- groups normal_termination, shutdown_termination, abnormal_termination ----

TEST_F(OtpSuite, PermanentNormalChildIsRestarted) {
  auto [sup, h] = sup_with_child1(restart_type::permanent);
  ASSERT_TRUE(h);
  send(h, stop_atom::value);
  EXPECT_TRUE(ended_with(h, caf::error{}));
  auto st = status(sup, "child1");
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->running);
  EXPECT_NE(st->handle, h);
  EXPECT_EQ(counts(sup), (counts_t{1, 1, 0, 1}));
  stop(sup);
}

TEST_F(OtpSuite, TransientNormalChildIsKeptButNotRestarted) {
  auto [sup, h] = sup_with_child1(restart_type::transient);
  ASSERT_TRUE(h);
  send(h, stop_atom::value);
  auto st = status(sup, "child1");
  ASSERT_TRUE(st);
  EXPECT_FALSE(st->running);
  EXPECT_EQ(counts(sup), (counts_t{1, 0, 0, 1}));
  stop(sup);
}

TEST_F(OtpSuite, TemporaryNormalChildIsForgotten) {
  auto [sup, h] = sup_with_child1(restart_type::temporary);
  ASSERT_TRUE(h);
  send(h, stop_atom::value);
  EXPECT_TRUE(which(sup).empty());
  EXPECT_EQ(counts(sup), (counts_t{0, 0, 0, 0}));
  stop(sup);
}

// OTP's `{shutdown, Term}` has no counterpart; the second exit is the
// child's own `user_shutdown`.
TEST_F(OtpSuite, PermanentShutdownChildIsRestarted) {
  auto [sup, h1] = sup_with_child1(restart_type::permanent);
  ASSERT_TRUE(h1);
  watch(h1);
  stop(h1);
  EXPECT_TRUE(ended_with(h1, shutdown_reason));
  auto h2 = restarted_child1(sup, h1, "after a shutdown");
  ASSERT_TRUE(h2);
  send(h2, shutdown_atom::value);
  EXPECT_TRUE(ended_with(h2, shutdown_reason));
  auto h3 = restarted_child1(sup, h2, "after ending with user_shutdown");
  ASSERT_TRUE(h3);
  stop(sup);
}

TEST_F(OtpSuite, TransientShutdownChildIsKeptButNotRestarted) {
  auto [sup, h1] = sup_with_child1(restart_type::transient);
  ASSERT_TRUE(h1);
  watch(h1);
  stop(h1);
  EXPECT_TRUE(ended_with(h1, shutdown_reason));
  EXPECT_FALSE(handle_of(sup, "child1"));
  EXPECT_EQ(counts(sup), (counts_t{1, 0, 0, 1}));
  auto h2 = restart_child(sup, "child1");
  ASSERT_TRUE(ok(h2));
  send(*h2, shutdown_atom::value);
  EXPECT_TRUE(ended_with(*h2, shutdown_reason));
  EXPECT_FALSE(handle_of(sup, "child1"));
  EXPECT_EQ(counts(sup), (counts_t{1, 0, 0, 1}));
  stop(sup);
}

TEST_F(OtpSuite, TemporaryShutdownChildIsForgotten) {
  auto sup = one_for_one_sup();
  auto child1 = spec("child1", log, restart_type::temporary);
  ASSERT_TRUE(ok(start_child(sup, child1)));
  stop(handle_of(sup, "child1"));
  EXPECT_TRUE(which(sup).empty());
  EXPECT_EQ(counts(sup), (counts_t{0, 0, 0, 0}));
  ASSERT_TRUE(ok(start_child(sup, child1))) << "its id is free again";
  send(handle_of(sup, "child1"), shutdown_atom::value);
  EXPECT_TRUE(which(sup).empty());
  EXPECT_EQ(counts(sup), (counts_t{0, 0, 0, 0}));
  stop(sup);
}

// OTP starts an application whose top supervisor cannot start a child; here
// the supervisor itself.
TEST_F(OtpSuite, FaultyApplicationShutdownNamesTheChildThatDidNotStart) {
  auto none =
      custom("app_faulty", [](caf::actor_system&) { return caf::actor{}; });
  auto throws = custom("app_faulty", [](caf::actor_system&) -> caf::actor {
    throw std::runtime_error("an_undefined_function");
  });
  for (auto& bad : {none, throws}) {
    log->clear();
    auto sup = supervisor({}, {spec("a", log), bad});
    auto reason = exit_reason(sup);
    ASSERT_TRUE(reason) << "the supervisor runs without its child";
    EXPECT_TRUE(*reason) << "it ended normally";
    EXPECT_FALSE(*reason == caf::exit_reason::user_shutdown);
    EXPECT_NE(troupe::describe(*reason).find("app_faulty"), std::string::npos)
        << troupe::describe(*reason);
    EXPECT_EQ(count("start a"), count("stop a"))
        << "the child that started was left running";
  }
}

TEST_F(OtpSuite, PermanentAbnormalChildIsRestarted) {
  auto [sup, h] = sup_with_child1(restart_type::permanent);
  ASSERT_TRUE(h);
  send(h, die_atom::value);
  EXPECT_TRUE(ended_with(h, died()));
  auto h2 = restarted_child1(sup, h, "after an abnormal exit");
  ASSERT_TRUE(h2);
  // A handler's throw: restarted in place.
  send(h2, crash_atom::value);
  EXPECT_EQ(handle_of(sup, "child1"), h2);
  EXPECT_EQ(status(sup, "child1")->restarts, 2u);
  EXPECT_EQ(counts(sup), (counts_t{1, 1, 0, 1}));
  stop(sup);
}

TEST_F(OtpSuite, TransientAbnormalChildIsRestarted) {
  auto [sup, h] = sup_with_child1(restart_type::transient);
  ASSERT_TRUE(h);
  send(h, die_atom::value);
  auto h2 = restarted_child1(sup, h, "after an abnormal exit");
  ASSERT_TRUE(h2);
  send(h2, crash_atom::value);
  EXPECT_EQ(handle_of(sup, "child1"), h2);
  EXPECT_EQ(status(sup, "child1")->restarts, 2u);
  stop(sup);
}

TEST_F(OtpSuite, TemporaryAbnormalChildIsForgotten) {
  auto sup = one_for_one_sup();
  auto child1 = spec("child1", log, restart_type::temporary);
  ASSERT_TRUE(ok(start_child(sup, child1)));
  send(handle_of(sup, "child1"), die_atom::value);
  EXPECT_TRUE(which(sup).empty());
  EXPECT_EQ(counts(sup), (counts_t{0, 0, 0, 0}));
  ASSERT_TRUE(ok(start_child(sup, child1)));
  send(handle_of(sup, "child1"), crash_atom::value);
  EXPECT_TRUE(which(sup).empty());
  EXPECT_EQ(counts(sup), (counts_t{0, 0, 0, 0}));
  EXPECT_EQ(count("start child1"), 2u);
  stop(sup);
}

TEST_F(OtpSuite, TemporaryBystanderStoppedByTheStrategyIsNotRestarted) {
  for (auto strat : {strategy::one_for_all, strategy::rest_for_one}) {
    SCOPED_TRACE("strategy " + std::to_string(static_cast<int>(strat)));
    log->clear();
    auto sup = supervisor(flags(strat, 2, 300s));
    auto c1 = spec("child1", log);
    c1.shutdown = 100ms;
    auto c2 = spec("child2", log, restart_type::temporary);
    c2.shutdown = 100ms;
    ASSERT_TRUE(ok(start_child(sup, c1)));
    ASSERT_TRUE(ok(start_child(sup, c2)));
    send(handle_of(sup, "child1"), stop_atom::value);
    advance(350ms);
    EXPECT_TRUE(still_up(sup));
    auto kids = which(sup);
    EXPECT_EQ(kids.size(), 1u) << "the temporary child is still listed";
    if (!kids.empty()) {
      EXPECT_EQ(kids[0].id, "child1");
      EXPECT_TRUE(kids[0].running);
    }
    EXPECT_EQ(count("start child2"), 1u) << "the temporary child restarted";
    stop(sup);
  }
}

// -- misc ---------------------------------------------------------------------

// OTP's naughty child unlinks itself; a troupe supervisor monitors, so the
// point is that it keeps serving while terminate_child waits for a child
// that does not stop.
TEST_F(OtpSuite, ChildUnlinkSupervisorKeepsServingWhileTerminateChildWaits) {
  auto sup = one_for_one_sup();
  auto naughty = custom("naughty_child", [](caf::actor_system& sys) {
    return sys.spawn(stubborn);
  });
  naughty.shutdown = 1000ms;
  auto st = start_child(sup, naughty);
  ASSERT_TRUE(ok(st));
  watch(st->handle);
  auto pending =
      issue<caf::error>([h = api(sup)](caf::event_based_actor* c, auto done) {
        h.terminate_child(c, "naughty_child", std::move(done));
      });
  ctx.run();
  EXPECT_FALSE(*pending) << "terminate_child returned before the child ended";
  EXPECT_EQ(which(sup).size(), 1u) << "the supervisor does not answer";
  EXPECT_TRUE(still_up(st->handle));
  advance(1000ms);
  ASSERT_TRUE(*pending);
  EXPECT_TRUE(ok(**pending));
  EXPECT_TRUE(ended_with(st->handle, kill_reason));
  auto after = status(sup, "naughty_child");
  ASSERT_TRUE(after);
  EXPECT_FALSE(after->running);
  stop(sup);
}

TEST_F(OtpSuite,
       TreeRestartsTheDeadWorkerThenTheWholeTreeWithoutDynamicChildren) {
  auto sup_spec = [&](const std::string& id, restart_type restart,
                      std::vector<troupe::child_spec> kids) {
    auto f = flags(strategy::one_for_one, 4, 3600s);
    auto s = custom(
        id,
        [f, kids](caf::actor_system& sys) {
          return troupe::spawn_supervisor(sys, f, kids);
        },
        restart);
    s.kind = child_kind::supervisor;
    s.shutdown = 24h;
    return s;
  };
  auto top = supervisor(flags(strategy::one_for_all, 4, 3600s));
  ASSERT_TRUE(ok(
      start_child(top, sup_spec("supchild1", restart_type::permanent,
                                {spec("child1", log), spec("child2", log)}))));
  ASSERT_TRUE(
      ok(start_child(top, sup_spec("supchild2", restart_type::permanent, {}))));
  ASSERT_TRUE(
      ok(start_child(top, sup_spec("supchild3", restart_type::transient, {}))));
  EXPECT_TRUE(ok(terminate_child(top, "supchild3")));
  EXPECT_EQ(counts(top), (counts_t{3, 2, 3, 0}));
  auto sup1 = handle_of(top, "supchild1");
  auto sup2 = handle_of(top, "supchild2");
  ASSERT_TRUE(sup1 && sup2);
  EXPECT_EQ(counts(sup1), (counts_t{2, 2, 0, 2}));
  EXPECT_EQ(counts(sup2), (counts_t{0, 0, 0, 0}));
  // Dynamic children; child3 cannot be started a second time.
  auto t3 = make_tracker();
  ASSERT_TRUE(ok(start_child(sup2, plain_spec("child3", t3, from(2)))));
  ASSERT_TRUE(ok(start_child(sup2, spec("child4", log))));
  EXPECT_EQ(counts(sup1), (counts_t{2, 2, 0, 2}));
  EXPECT_EQ(counts(sup2), (counts_t{2, 2, 0, 2}));
  auto w1 = which(sup1);
  auto c3 = handle_of(sup2, "child3");
  auto c4 = handle_of(sup2, "child4");
  // Only the worker that died is restarted.
  send(c4, die_atom::value);
  auto w1_after = which(sup1);
  ASSERT_EQ(w1_after.size(), 2u);
  EXPECT_EQ(w1_after[0].handle, w1.at(0).handle);
  EXPECT_EQ(w1_after[1].handle, w1.at(1).handle);
  EXPECT_EQ(handle_of(sup2, "child3"), c3);
  auto new_c4 = handle_of(sup2, "child4");
  EXPECT_TRUE(new_c4);
  EXPECT_NE(new_c4, c4);
  EXPECT_EQ(counts(sup2), (counts_t{2, 2, 0, 2}));
  // child3 cannot restart: supchild2 gives up, and the top restarts the
  // tree, supchild3 included; dynamic children are not restarted.
  send(c3, die_atom::value);
  EXPECT_TRUE(down(sup2));
  auto kids = which(top);
  ASSERT_EQ(kids.size(), 3u);
  for (auto& k : kids)
    EXPECT_TRUE(k.running) << k.id;
  EXPECT_EQ(counts(top), (counts_t{3, 3, 3, 0}));
  ASSERT_TRUE(kids[0].running && kids[1].running);
  EXPECT_NE(kids[0].handle, sup1);
  EXPECT_NE(kids[1].handle, sup2);
  auto new1 = which(kids[0].handle);
  ASSERT_EQ(new1.size(), 2u);
  EXPECT_EQ(new1[0].id, "child1");
  EXPECT_EQ(new1[1].id, "child2");
  EXPECT_EQ(counts(kids[0].handle), (counts_t{2, 2, 0, 2}));
  EXPECT_TRUE(which(kids[1].handle).empty());
  EXPECT_EQ(counts(kids[1].handle), (counts_t{0, 0, 0, 0}));
  if (kids[2].running) {
    EXPECT_TRUE(which(kids[2].handle).empty());
    EXPECT_EQ(counts(kids[2].handle), (counts_t{0, 0, 0, 0}));
  }
  stop(top);
}

// -- group significant --------------------------------------------------------

namespace {

const troupe::auto_shutdown all_modes[] = {
    troupe::auto_shutdown::never, troupe::auto_shutdown::any_significant,
    troupe::auto_shutdown::all_significant};

std::string mode_name(troupe::auto_shutdown mode) {
  return "auto_shutdown " + std::to_string(static_cast<int>(mode));
}

} // namespace

TEST_F(OtpSuite, NonsignificantTemporaryChildNeverShutsTheSupervisorDown) {
  for (auto mode : all_modes) {
    SCOPED_TRACE(mode_name(mode));
    troupe::supervisor_flags f;
    f.auto_shutdown = mode;
    auto sup = supervisor(f);
    auto child1 = spec("child1", log, restart_type::temporary, false);
    // Terminated through the supervisor.
    auto st = start_child(sup, child1);
    ASSERT_TRUE(ok(st));
    watch(st->handle);
    EXPECT_TRUE(ok(terminate_child(sup, "child1")));
    EXPECT_TRUE(down(st->handle));
    EXPECT_TRUE(still_up(sup));
    // Killed.
    st = start_child(sup, child1);
    ASSERT_TRUE(ok(st));
    kill(st->handle);
    EXPECT_TRUE(still_up(sup));
    // Ended abnormally.
    st = start_child(sup, child1);
    ASSERT_TRUE(ok(st));
    send(st->handle, die_atom::value);
    EXPECT_TRUE(still_up(sup));
    // Ended normally.
    st = start_child(sup, child1);
    ASSERT_TRUE(ok(st));
    send(st->handle, stop_atom::value);
    EXPECT_TRUE(down(st->handle));
    EXPECT_TRUE(still_up(sup));
    stop(sup);
    EXPECT_TRUE(ended_with(sup, shutdown_reason));
  }
}

TEST_F(OtpSuite, NonsignificantTransientChildNeverShutsTheSupervisorDown) {
  for (auto mode : all_modes) {
    SCOPED_TRACE(mode_name(mode));
    troupe::supervisor_flags f;
    f.auto_shutdown = mode;
    f.max_restarts = 5;
    auto sup = supervisor(f);
    auto st = start_child(sup, spec("child1", log, restart_type::transient));
    ASSERT_TRUE(ok(st));
    watch(st->handle);
    EXPECT_TRUE(ok(terminate_child(sup, "child1")));
    EXPECT_TRUE(down(st->handle));
    EXPECT_TRUE(still_up(sup));
    // Killed: restarted.
    auto h = restart_child(sup, "child1");
    ASSERT_TRUE(ok(h));
    kill(*h);
    EXPECT_TRUE(still_up(sup));
    auto h3 = handle_of(sup, "child1");
    ASSERT_TRUE(h3) << "not restarted after a kill";
    // Ended abnormally: restarted.
    send(h3, die_atom::value);
    EXPECT_TRUE(still_up(sup));
    auto h4 = handle_of(sup, "child1");
    ASSERT_TRUE(h4) << "not restarted after an abnormal exit";
    EXPECT_NE(h4, h3);
    // Ended normally: not restarted.
    send(h4, stop_atom::value);
    EXPECT_TRUE(down(h4));
    EXPECT_TRUE(still_up(sup));
    stop(sup);
    EXPECT_TRUE(ended_with(sup, shutdown_reason));
  }
}

TEST_F(OtpSuite, SignificantTemporaryChildShutsTheSupervisorDownWhenItEnds) {
  using troupe::auto_shutdown;
  {
    SCOPED_TRACE("any_significant, terminate_child, then a kill");
    auto [sup, hs] =
        significant_trio(restart_type::temporary, auto_shutdown::any_significant);
    EXPECT_TRUE(ok(terminate_child(sup, "child1")));
    EXPECT_TRUE(down(hs[0]));
    EXPECT_TRUE(still_up(hs[1]));
    EXPECT_TRUE(still_up(hs[2]));
    EXPECT_TRUE(still_up(sup)) << "terminate_child triggered auto_shutdown";
    auto again =
        start_child(sup, spec("child1", log, restart_type::temporary, true));
    ASSERT_TRUE(ok(again));
    kill(again->handle);
    EXPECT_TRUE(ended_with(sup, shutdown_reason));
    EXPECT_TRUE(down(hs[1]));
    EXPECT_TRUE(down(hs[2]));
  }
  for (bool abnormal : {true, false}) {
    SCOPED_TRACE(abnormal ? "any_significant, an abnormal exit"
                          : "any_significant, a normal exit");
    auto [sup, hs] =
        significant_trio(restart_type::temporary, auto_shutdown::any_significant);
    if (abnormal)
      send(hs[0], die_atom::value);
    else
      send(hs[0], stop_atom::value);
    EXPECT_TRUE(ended_with(sup, shutdown_reason));
    EXPECT_TRUE(down(hs[1]));
    EXPECT_TRUE(down(hs[2]));
  }
  {
    SCOPED_TRACE("all_significant");
    expect_all_significant_waits_for_both(restart_type::temporary);
  }
}

TEST_F(OtpSuite, SignificantTransientChildShutsTheSupervisorDownOnANormalEnd) {
  using troupe::auto_shutdown;
  {
    SCOPED_TRACE("any_significant");
    auto [sup, hs] =
        significant_trio(restart_type::transient, auto_shutdown::any_significant);
    EXPECT_TRUE(ok(terminate_child(sup, "child1")));
    EXPECT_TRUE(down(hs[0]));
    EXPECT_TRUE(still_up(sup)) << "terminate_child triggered auto_shutdown";
    ASSERT_TRUE(ok(restart_child(sup, "child1")));
    // Killed: restarted, no auto_shutdown.
    kill(handle_of(sup, "child1"));
    EXPECT_TRUE(still_up(sup));
    EXPECT_TRUE(still_up(hs[1]));
    EXPECT_TRUE(still_up(hs[2]));
    // Ended abnormally: restarted, no auto_shutdown.
    auto h = handle_of(sup, "child1");
    ASSERT_TRUE(h);
    send(h, die_atom::value);
    EXPECT_TRUE(still_up(sup));
    EXPECT_TRUE(still_up(hs[1]));
    // Ended normally: auto_shutdown.
    h = handle_of(sup, "child1");
    ASSERT_TRUE(h);
    send(h, stop_atom::value);
    EXPECT_TRUE(ended_with(sup, shutdown_reason));
    EXPECT_TRUE(down(hs[1]));
    EXPECT_TRUE(down(hs[2]));
  }
  {
    SCOPED_TRACE("all_significant");
    expect_all_significant_waits_for_both(restart_type::transient);
  }
}

// The children are plain CAF actors, so that the strategy's restarts stop
// them for real instead of restarting them in place.
TEST_F(OtpSuite, SignificantBystanderStoppedByTheStrategyDoesNotShutDown) {
  for (auto strat :
       {strategy::one_for_one, strategy::one_for_all, strategy::rest_for_one})
    for (auto mode : {troupe::auto_shutdown::any_significant,
                      troupe::auto_shutdown::all_significant}) {
      SCOPED_TRACE("strategy " + std::to_string(static_cast<int>(strat)) +
                   ", " + mode_name(mode));
      auto f = flags(strat, 5, 5000ms);
      f.auto_shutdown = mode;
      auto sup = supervisor(f);
      std::vector<tracker> ts{make_tracker(), make_tracker(), make_tracker()};
      ASSERT_TRUE(
          ok(start_child(sup, plain_spec("child1", ts[0], nullptr,
                                         restart_type::transient, true))));
      ASSERT_TRUE(
          ok(start_child(sup, plain_spec("child2", ts[1], nullptr,
                                         restart_type::transient, false))));
      ASSERT_TRUE(
          ok(start_child(sup, plain_spec("child3", ts[2], nullptr,
                                         restart_type::transient, true))));
      auto p1 = ts[0]->started.at(0);
      auto p3 = ts[2]->started.at(0);
      watch(p1);
      watch(p3);
      kill(ts[1]->started.at(0));
      switch (strat) {
      case strategy::one_for_one:
        EXPECT_TRUE(still_up(p1));
        EXPECT_TRUE(still_up(p3));
        break;
      case strategy::one_for_all:
        EXPECT_TRUE(down(p1));
        EXPECT_TRUE(down(p3));
        break;
      case strategy::rest_for_one:
        EXPECT_TRUE(still_up(p1));
        EXPECT_TRUE(down(p3));
        break;
      }
      EXPECT_TRUE(still_up(sup));
      auto kids = which(sup);
      ASSERT_EQ(kids.size(), 3u);
      for (auto& k : kids)
        EXPECT_TRUE(k.running) << k.id;
      stop(sup);
      EXPECT_TRUE(ended_with(sup, shutdown_reason));
    }
}

TEST_F(OtpSuite, SignificantEscalationClimbsOnlyThroughSignificantChildren) {
  troupe::supervisor_flags any;
  any.auto_shutdown = troupe::auto_shutdown::any_significant;
  auto b = custom(
      "sup1",
      [any](caf::actor_system& sys) {
        return troupe::spawn_supervisor(sys, any, {});
      },
      restart_type::transient);
  b.kind = child_kind::supervisor;
  auto c = spec("child1", log, restart_type::transient, true);
  for (bool significant : {true, false}) {
    SCOPED_TRACE(significant ? "significant child supervisor"
                             : "non-significant child supervisor");
    b.significant = significant;
    auto a = supervisor(any);
    auto hb = start_child(a, b);
    ASSERT_TRUE(ok(hb));
    watch(hb->handle);
    auto hc = start_child(hb->handle, c);
    ASSERT_TRUE(ok(hc));
    send(hc->handle, stop_atom::value);
    EXPECT_TRUE(ended_with(hb->handle, shutdown_reason));
    if (significant) {
      EXPECT_TRUE(ended_with(a, shutdown_reason));
    } else {
      EXPECT_TRUE(still_up(a));
      stop(a);
    }
  }
}

// -- misc, continued ----------------------------------------------------------

// OTP's simple_one_for_one children are troupe's children added by
// start_child (one spec each, so specs == active here).
TEST_F(OtpSuite, CountChildrenCountsThousandsOfDynamicChildren) {
  auto sup = one_for_one_sup();
  auto start_many = [&](int first, int n) {
    for (int i = first; i < first + n; ++i)
      ASSERT_TRUE(ok(start_child(sup, spec("child" + std::to_string(i), log,
                                           restart_type::temporary))));
  };
  start_many(0, 1000);
  auto children = which(sup);
  EXPECT_EQ(children.size(), 1000u);
  EXPECT_EQ(counts(sup), (counts_t{1000, 1000, 0, 1000}));
  start_many(1000, 1000);
  auto counts2 = counts(sup);
  auto children2 = which(sup);
  auto counts3 = counts(sup);
  auto children3 = which(sup);
  EXPECT_EQ(children2.size(), 2000u);
  EXPECT_EQ(counts2, (counts_t{2000, 2000, 0, 2000}));
  EXPECT_EQ(counts3, counts2);
  ASSERT_EQ(children3.size(), children2.size());
  for (size_t i = 0; i < children2.size(); ++i) {
    EXPECT_EQ(children3[i].id, children2[i].id);
    EXPECT_EQ(children3[i].handle, children2[i].handle);
  }
  kill_all_children(sup);
  stop(sup);
}

TEST_F(OtpSuite, CountChildrenSupervisorCountsChildSupervisors) {
  auto sup = one_for_one_sup();
  auto start_many = [&](int first, int n) {
    for (int i = first; i < first + n; ++i) {
      auto s = custom(
          "child" + std::to_string(i),
          [](caf::actor_system& sys) {
            return troupe::spawn_supervisor(sys, {}, {});
          },
          restart_type::temporary);
      s.kind = child_kind::supervisor;
      s.shutdown = 24h;
      ASSERT_TRUE(ok(start_child(sup, s)));
    }
  };
  start_many(0, 1000);
  EXPECT_EQ(which(sup).size(), 1000u);
  EXPECT_EQ(counts(sup), (counts_t{1000, 1000, 1000, 0}));
  start_many(1000, 1000);
  EXPECT_EQ(which(sup).size(), 2000u);
  EXPECT_EQ(counts(sup), (counts_t{2000, 2000, 2000, 0}));
  kill_all_children(sup);
  stop(sup);
}

// OTP's children restarting after a failed start are troupe's children
// waiting out their backoff.
TEST_F(OtpSuite, CountRestartingChildrenCountsThemButNotAsActive) {
  auto f = flags(strategy::one_for_one, 20, 10s);
  f.backoff = one_second();
  auto sup = supervisor(f);
  EXPECT_EQ(counts(sup), (counts_t{0, 0, 0, 0}));
  for (size_t i = 1; i <= 3; ++i) {
    auto c = spec("child" + std::to_string(i), log);
    c.shutdown = 0ms;
    ASSERT_TRUE(ok(start_child(sup, c)));
    EXPECT_EQ(counts(sup), (counts_t{i, i, 0, i}));
  }
  for (auto& k : which(sup))
    caf::anon_send_exit(k.handle, caf::exit_reason::kill);
  ctx.run();
  EXPECT_EQ(counts(sup), (counts_t{3, 0, 0, 3}));
  advance(1000ms);
  EXPECT_EQ(counts(sup), (counts_t{3, 3, 0, 3}));
  kill(handle_of(sup, "child1"));
  kill(handle_of(sup, "child2"));
  EXPECT_EQ(counts(sup), (counts_t{3, 1, 0, 3}));
  advance(1000ms);
  EXPECT_EQ(counts(sup), (counts_t{3, 3, 0, 3}));
  EXPECT_TRUE(ok(terminate_child(sup, "child3")));
  EXPECT_EQ(counts(sup), (counts_t{3, 2, 0, 3}));
  EXPECT_TRUE(ok(terminate_child(sup, "child1")));
  EXPECT_EQ(counts(sup), (counts_t{3, 1, 0, 3}));
  EXPECT_TRUE(ok(terminate_child(sup, "child2")));
  EXPECT_EQ(counts(sup), (counts_t{3, 0, 0, 3}));
  stop(sup);
}

TEST_F(OtpSuite, DoNotSaveChildSpecsForTemporaryChildrenWhicheverWayTheyEnd) {
  enum class how { kill, normal, abnormal, supervisor };
  for (auto strat :
       {strategy::one_for_all, strategy::one_for_one, strategy::rest_for_one})
    for (auto end : {how::kill, how::normal, how::abnormal, how::supervisor}) {
      SCOPED_TRACE("strategy " + std::to_string(static_cast<int>(strat)) +
                   ", ending " + std::to_string(static_cast<int>(end)));
      auto sup = supervisor(flags(strat, 2, 3600s));
      auto finish = [&](const std::string& id) {
        auto h = handle_of(sup, id);
        ASSERT_TRUE(h);
        switch (end) {
        case how::kill:
          kill(h);
          break;
        case how::normal:
          send(h, stop_atom::value);
          break;
        case how::abnormal:
          send(h, die_atom::value);
          break;
        case how::supervisor:
          EXPECT_TRUE(ok(terminate_child(sup, id)));
          break;
        }
      };
      // Kept (its id stays taken), and restarted by the supervisor unless it
      // `stays_down`; then restart_child restarts it.
      auto kept = [&](const std::string& id, restart_type restart,
                      bool stays_down) {
        auto c = spec(id, log, restart);
        ASSERT_TRUE(ok(start_child(sup, c)));
        finish(id);
        EXPECT_FALSE(start_child(sup, c));
        if (stays_down) {
          EXPECT_FALSE(handle_of(sup, id));
          EXPECT_TRUE(ok(restart_child(sup, id)));
        } else {
          EXPECT_TRUE(handle_of(sup, id)) << id << " not restarted";
        }
      };
      // Permanent: restarted unless terminated through the supervisor.
      ASSERT_NO_FATAL_FAILURE(
          kept("child1", restart_type::permanent, end == how::supervisor));
      // Transient: restarted only after a failure.
      ASSERT_NO_FATAL_FAILURE(kept("child2", restart_type::transient,
                                   end == how::supervisor ||
                                       end == how::normal));
      // Temporary: forgotten, so it can be started again.
      auto temporary = spec("child3", log, restart_type::temporary);
      ASSERT_TRUE(ok(start_child(sup, temporary)));
      finish("child3");
      EXPECT_FALSE(status(sup, "child3"));
      EXPECT_TRUE(ok(start_child(sup, temporary)));
      EXPECT_TRUE(still_up(sup));
      stop(sup);
    }
}

// OTP's child stuck in a restart loop is troupe's child waiting out its
// backoff.
TEST_F(OtpSuite,
       HangingRestartLoopChildCanBeTerminatedAndTheSupervisorStopped) {
  auto f = flags(strategy::one_for_one, 8, 10s);
  f.backoff = one_second();
  auto sup = supervisor(f);
  auto child1 = spec("child1", log);
  child1.shutdown = 0ms;
  auto st = start_child(sup, child1);
  ASSERT_TRUE(ok(st));
  kill(st->handle);
  auto restarting = status(sup, "child1");
  ASSERT_TRUE(restarting);
  EXPECT_FALSE(restarting->running);
  EXPECT_EQ(counts(sup), (counts_t{1, 0, 0, 1}));
  EXPECT_FALSE(start_child(sup, child1)) << "already present";
  // OTP answers `{error, restarting}`; troupe has no such code.
  EXPECT_FALSE(restart_child(sup, "child1")) << "restarted while restarting";
  EXPECT_TRUE(delete_child(sup, "child1")) << "deleted while restarting";
  // terminate_child ends the restart loop and keeps the spec.
  EXPECT_TRUE(ok(terminate_child(sup, "child1")));
  advance(1000ms);
  auto after = status(sup, "child1");
  ASSERT_TRUE(after);
  EXPECT_FALSE(after->running) << "restarted after terminate_child";
  EXPECT_EQ(count("start child1"), 1u);
  auto cpid2 = restart_child(sup, "child1");
  ASSERT_TRUE(ok(cpid2));
  EXPECT_EQ(count("start child1"), 2u);
  // The supervisor stops at once while its child waits to restart.
  kill(*cpid2);
  stop(sup);
  EXPECT_TRUE(ended_with(sup, shutdown_reason));
  advance(1000ms);
  EXPECT_EQ(count("start child1"), 2u) << "restarted after its supervisor";
}

TEST_F(OtpSuite, HangingRestartLoopRestForOneStopsLaterChildrenMeanwhile) {
  auto f = flags(strategy::rest_for_one, 8, 10s);
  f.backoff = one_second();
  std::vector<troupe::child_spec> specs;
  for (auto id : {"child1", "child2", "child3"}) {
    specs.push_back(spec(id, log));
    specs.back().shutdown = 0ms;
  }
  auto sup = supervisor(f, specs);
  auto c1 = handle_of(sup, "child1");
  kill(handle_of(sup, "child2"));
  auto kids = which(sup);
  ASSERT_EQ(kids.size(), 3u);
  EXPECT_EQ(kids[0].handle, c1);
  EXPECT_TRUE(kids[0].running);
  EXPECT_FALSE(kids[1].running);
  EXPECT_FALSE(kids[2].running)
      << "child3 runs while child2, which it depends on, is down";
  EXPECT_EQ(counts(sup), (counts_t{3, 1, 0, 3}));
  EXPECT_TRUE(ok(terminate_child(sup, "child2")));
  advance(1000ms);
  EXPECT_EQ(handle_of(sup, "child1"), c1);
  EXPECT_FALSE(handle_of(sup, "child2"));
  EXPECT_TRUE(ok(restart_child(sup, "child2")));
  stop(sup);
  EXPECT_TRUE(ended_with(sup, shutdown_reason));
}

TEST_F(OtpSuite, OrderOfChildrenIsStartOrderForStartsAndReverseForStops) {
  std::vector<std::string> ids{"ch7", "ch3", "ch10", "ch2", "ch5"};
  std::vector<troupe::child_spec> specs;
  for (auto& id : ids)
    specs.push_back(spec(id, log));
  auto sup = supervisor(flags(strategy::rest_for_one, 2, 3600s), specs);
  EXPECT_EQ(*log,
            (std::vector<std::string>{"start ch7", "start ch3", "start ch10",
                                      "start ch2", "start ch5"}));
  log->clear();
  kill(handle_of(sup, "ch10"));
  std::vector<std::string> starts;
  for (auto& line : *log)
    if (line.rfind("start ", 0) == 0)
      starts.push_back(line);
  EXPECT_EQ(starts,
            (std::vector<std::string>{"start ch10", "start ch2", "start ch5"}));
  EXPECT_EQ(count("stop ch2"), 1u);
  EXPECT_EQ(count("stop ch5"), 1u);
  EXPECT_EQ(count("stop ch7") + count("stop ch3"), 0u);
  for (auto& id : ids)
    EXPECT_TRUE(handle_of(sup, id)) << id;
  log->clear();
  stop(sup);
  EXPECT_EQ(*log, (std::vector<std::string>{"stop ch5", "stop ch2", "stop ch10",
                                            "stop ch3", "stop ch7"}));
}

TEST_F(OtpSuite, WhichChildrenListsChildrenInStartOrderAsTheyComeAndGo) {
  auto sup = supervisor({});
  EXPECT_TRUE(which(sup).empty());
  auto c1 = start_child(sup, spec("child1", log));
  ASSERT_TRUE(ok(c1));
  auto kids = which(sup);
  ASSERT_EQ(kids.size(), 1u);
  EXPECT_EQ(kids[0].id, "child1");
  EXPECT_EQ(kids[0].handle, c1->handle);
  EXPECT_TRUE(kids[0].running);
  EXPECT_EQ(kids[0].kind, child_kind::worker);
  EXPECT_EQ(kids[0].restart, restart_type::permanent);
  EXPECT_FALSE(kids[0].significant);
  auto c2 = start_child(sup, spec("child2", log));
  ASSERT_TRUE(ok(c2));
  kids = which(sup);
  ASSERT_EQ(kids.size(), 2u);
  EXPECT_EQ(kids[0].id, "child1");
  EXPECT_EQ(kids[1].id, "child2");
  EXPECT_EQ(kids[1].handle, c2->handle);
  EXPECT_TRUE(ok(terminate_child(sup, "child1")));
  kids = which(sup);
  ASSERT_EQ(kids.size(), 2u);
  EXPECT_EQ(kids[0].id, "child1");
  EXPECT_FALSE(kids[0].running);
  EXPECT_FALSE(kids[0].handle);
  EXPECT_TRUE(kids[1].running);
  EXPECT_TRUE(ok(delete_child(sup, "child1")));
  kids = which(sup);
  ASSERT_EQ(kids.size(), 1u);
  EXPECT_EQ(kids[0].id, "child2");
  EXPECT_EQ(kids[0].handle, c2->handle);
  stop(sup);
}
