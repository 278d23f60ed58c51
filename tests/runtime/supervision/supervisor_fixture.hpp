// SPDX-License-Identifier: Apache-2.0
// The Supervisor fixture of troupe's own supervisor tests
// (supervisor_*_test.cpp): a worker that sums ints and throws on multiples
// of 100, its child spec, and the fixture's calls on CAF's test_coordinator.
#pragma once

#include "troupe/supervision/supervisor.hpp"

#include <memory>
#include <string>
#include <vector>

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <gtest/gtest.h>

#include "runtime/deterministic.hpp"
#include "runtime/supervision/worker.hpp"
#include "troupe/actor/spawn.hpp"
#include "troupe/error.hpp"

namespace troupe::test::sup {

using namespace std::chrono_literals;
using troupe::test::journal;
using get_atom = caf::atom_constant<caf::atom("get")>;

// A worker that sums ints, throws on multiples of 100, and writes its
// lifecycle and every handled value into a journal that outlives restarts.
struct worker_state : troupe::test::journaled_state {
  static inline const char* name = "worker";
};

inline caf::behavior worker(troupe::stateful_actor<worker_state>* self,
                            std::string id, journal log) {
  self->state.id = id;
  self->state.log = log;
  return {
    [self](int x) {
      if (x % 100 == 0)
        throw std::runtime_error("bad value " + std::to_string(x));
      self->state.log->push_back(std::to_string(x));
      return self->state.sum += x;
    },
    [self](get_atom) { return self->state.sum; },
  };
}

inline troupe::child_spec worker_spec(const std::string& id, journal log,
                                      troupe::restart_type restart
                                      = troupe::restart_type::permanent) {
  troupe::child_spec spec;
  spec.id = id;
  spec.restart = restart;
  spec.start = [id, log](caf::actor_system& sys) {
    return troupe::spawn(sys, worker, id, log);
  };
  return spec;
}

struct Supervisor : ::testing::Test {
  troupe::test::deterministic ctx;
  caf::scoped_actor self{*ctx.sys};
  journal log = std::make_shared<std::vector<std::string>>();

  template <class T, class... Ts>
  caf::expected<T> ask(const caf::actor& dst, Ts&&... xs) {
    return ctx.ask<T>(self, dst, std::forward<Ts>(xs)...);
  }

  std::vector<troupe::child_status> children(const caf::actor& sup) {
    auto res = ask<std::vector<troupe::child_status>>(sup,
                                                      troupe::children_atom::value);
    EXPECT_TRUE(res);
    return res ? *res : std::vector<troupe::child_status>{};
  }

  caf::actor start(troupe::strategy strat, std::vector<std::string> ids,
                   size_t max_restarts = 3) {
    std::vector<troupe::child_spec> specs;
    for (auto& id : ids)
      specs.push_back(worker_spec(id, log));
    troupe::supervisor_flags flags;
    flags.strategy = strat;
    flags.max_restarts = max_restarts;
    auto sup = troupe::spawn_supervisor(*ctx.sys, flags, std::move(specs));
    ctx.run();
    return sup;
  }

  // Starts `ids` under one_for_one with at most 2 restarts and makes the
  // first child throw three times (100, 200, 300): the supervisor's exit
  // reason, which must say it escalated.
  caf::error crash_first_child_three_times(std::vector<std::string> ids) {
    auto sup = start(troupe::strategy::one_for_one, std::move(ids), 2);
    self->monitor(sup);
    auto first = children(sup)[0].handle;
    for (int i = 1; i <= 3; ++i)
      ask<int>(first, 100 * i);
    caf::error reason;
    self->receive([&](caf::down_msg& dm) { reason = dm.reason; });
    EXPECT_EQ(reason.code(), static_cast<uint8_t>(troupe::errc::escalated));
    return reason;
  }

  int sum_of(const caf::actor& hdl) {
    auto res = ask<int>(hdl, get_atom::value);
    return res ? *res : -1;
  }

  // Starts a, b and c under `strat`, gives each a sum of 1, makes b fail.
  std::vector<troupe::child_status> fail_middle_child(troupe::strategy strat,
                                                      caf::actor& sup) {
    sup = start(strat, {"a", "b", "c"});
    auto kids = children(sup);
    for (auto& k : kids)
      ask<int>(k.handle, 1);
    EXPECT_FALSE(ask<int>(kids[1].handle, 200));
    return kids;
  }

  // One child "a" under a supervisor with `b` and a high intensity.
  caf::actor start_with_backoff(troupe::backoff b) {
    troupe::supervisor_flags flags;
    flags.max_restarts = 100;
    flags.backoff = b;
    auto sup = troupe::spawn_supervisor(*ctx.sys, flags, {worker_spec("a", log)});
    ctx.run();
    return sup;
  }

  // Kills the first child and advances virtual time in `step`s until it is
  // back; returns how long that took.
  std::chrono::milliseconds kill_and_time_respawn(const caf::actor& sup,
                                                  std::chrono::milliseconds step) {
    caf::anon_send_exit(children(sup)[0].handle, caf::exit_reason::kill);
    ctx.run();
    EXPECT_FALSE(children(sup)[0].running);
    auto waited = 0ms;
    while (!children(sup)[0].running && waited < 10s) {
      ctx.sched->clock().advance_time(step);
      waited += step;
      ctx.run();
    }
    return waited;
  }

  void stop(const caf::actor& sup) {
    caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
    ctx.run();
  }
};

} // namespace troupe::test::sup
