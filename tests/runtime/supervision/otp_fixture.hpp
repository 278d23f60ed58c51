// SPDX-License-Identifier: Apache-2.0
// The OtpSuite fixture of the OTP supervisor_SUITE port: the supervisors a
// test starts, the typed API calls and the steps several cases share (its
// children and assertions: otp_children.hpp).
#pragma once

#include "runtime/supervision/otp_children.hpp"

namespace troupe::test::otp {

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

} // namespace troupe::test::otp
