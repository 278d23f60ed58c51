// SPDX-License-Identifier: Apache-2.0
// troupe::ask from plain code, as a future and from an actor; a typed
// troupe actor under a supervisor, asked through its typed handle.
#include "troupe/actor/ask.hpp"

#include <stdexcept>
#include <string>
#include <variant>

#include <caf/event_based_actor.hpp>
#include <caf/typed_actor.hpp>
#include <gtest/gtest.h>

#include "troupe/actor/spawn.hpp"
#include "troupe/error.hpp"
#include "troupe/node/node.hpp"
#include "troupe/supervision/supervisor_handle.hpp"

using namespace std::chrono_literals;

namespace {

troupe::node_config quick_config() {
  troupe::node_config cfg;
  cfg.name = "ask-test";
  cfg.shutdown_timeout = 300ms;
  cfg.log = troupe::log_level::error;
  return cfg;
}

/// int -> int (doubled); std::string -> the same string, except "boom"
/// (an error) and "never" (never answered).
caf::behavior oracle(caf::event_based_actor* self) {
  return {
    [](int x) { return x * 2; },
    [self](const std::string& x) -> caf::result<std::string> {
      if (x == "boom")
        return caf::make_error(caf::sec::runtime_error, "boom");
      if (x == "never")
        return self->make_response_promise<std::string>();
      return x;
    },
  };
}

using calculator = caf::typed_actor<caf::replies_to<int, int>::with<int>,
                                    caf::replies_to<std::string>::with<int>>;

struct calc_state {
  static inline const char* name = "calculator";
  int calls = 0;
};

/// A typed troupe actor: adds, throws on "crash" (restarted in place by
/// its supervisor), and tells how many calls this incarnation took.
calculator::behavior_type calc(troupe::stateful_actor<calc_state>* self) {
  return {
    [self](int x, int y) {
      ++self->state.calls;
      return x + y;
    },
    [self](const std::string& what) -> int {
      if (what == "crash")
        throw std::runtime_error("crash on purpose");
      return self->state.calls;
    },
  };
}

int or_minus_one(const caf::expected<int>& x) {
  return x ? *x : -1;
}

class Ask : public testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(n_.start());
    oracle_ = n_.system().spawn(oracle);
  }
  void TearDown() override {
    caf::anon_send_exit(oracle_, caf::exit_reason::user_shutdown);
    oracle_ = nullptr;
    EXPECT_TRUE(n_.shutdown());
  }
  troupe::node n_{quick_config()};
  caf::actor oracle_;
};

} // namespace

TEST_F(Ask, FromPlainCodeGivesTheReplyOrTheError) {
  auto doubled = troupe::ask<int>(n_.system(), oracle_, 5s, 21);
  ASSERT_TRUE(doubled) << troupe::describe(doubled.error());
  EXPECT_EQ(*doubled, 42);
  auto err = troupe::ask<std::string>(n_.system(), oracle_, 5s,
                                      std::string{"boom"});
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error(), caf::sec::runtime_error);
  auto late = troupe::ask<std::string>(n_.system(), oracle_, 50ms,
                                       std::string{"never"});
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error(), caf::sec::request_timeout);
}

TEST_F(Ask, SeveralReplyTypesGiveAVariant) {
  auto x = troupe::ask<std::string, int>(n_.system(), oracle_, 5s,
                                         std::string{"hi"});
  ASSERT_TRUE(x) << troupe::describe(x.error());
  ASSERT_TRUE(std::holds_alternative<std::string>(*x));
  EXPECT_EQ(std::get<std::string>(*x), "hi");
  auto y = troupe::ask<std::string, int>(n_.system(), oracle_, 5s, 4);
  ASSERT_TRUE(y) << troupe::describe(y.error());
  ASSERT_TRUE(std::holds_alternative<int>(*y));
  EXPECT_EQ(std::get<int>(*y), 8);
}

TEST_F(Ask, AsyncGivesAFuture) {
  auto a = troupe::ask_async<int>(n_.system(), oracle_, 5s, 5);
  auto b = troupe::ask_async<std::string>(n_.system(), oracle_, 50ms,
                                          std::string{"never"});
  ASSERT_EQ(a.wait_for(10s), std::future_status::ready);
  auto ra = a.get();
  ASSERT_TRUE(ra) << troupe::describe(ra.error());
  EXPECT_EQ(*ra, 10);
  ASSERT_EQ(b.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(b.get().error(), caf::sec::request_timeout);
}

TEST_F(Ask, FromAnActorTheContinuationRunsInTheActor) {
  auto done = std::make_shared<std::promise<std::string>>();
  auto fut = done->get_future();
  auto target = oracle_;
  n_.system().spawn([done, target](caf::event_based_actor* self) {
    troupe::ask<int>(self, target, 5s, 3).then([=](caf::expected<int> x) {
      if (!x) {
        done->set_value("error");
        return;
      }
      troupe::ask<std::string>(self, target, 5s, std::string{"boom"})
        .then([=](caf::expected<std::string> y) {
          done->set_value(std::to_string(*x) + " then "
                          + (y ? *y : caf::to_string(y.error())));
        });
    });
  });
  ASSERT_EQ(fut.wait_for(10s), std::future_status::ready);
  auto got = fut.get();
  EXPECT_EQ(got.rfind("6 then ", 0), 0u) << got;
  EXPECT_NE(got.find("runtime_error"), std::string::npos) << got;
}

TEST_F(Ask, ATypedActorRunsUnderASupervisorAndIsAskedThroughItsHandle) {
  troupe::child_spec spec;
  spec.id = "calc";
  spec.start = [](caf::actor_system& sys) {
    return caf::actor_cast<caf::actor>(
      troupe::spawn_typed<calculator>(sys, calc));
  };
  auto root = n_.start_root({}, {spec});
  troupe::supervisor_handle sup{root};
  auto kids = sup.which_children();
  ASSERT_TRUE(kids && kids->size() == 1u);
  auto hdl = caf::actor_cast<calculator>(kids->at(0).handle);
  auto sum = troupe::ask<int>(n_.system(), hdl, 5s, 2, 3);
  ASSERT_TRUE(sum) << troupe::describe(sum.error());
  EXPECT_EQ(*sum, 5);
  EXPECT_EQ(or_minus_one(
              troupe::ask<int>(n_.system(), hdl, 5s, std::string{"calls"})),
            1);
  // A throw: the requester gets the error, the supervisor restarts the
  // child in place (same handle, a fresh state).
  auto crash = troupe::ask<int>(n_.system(), hdl, 5s, std::string{"crash"});
  ASSERT_FALSE(crash);
  EXPECT_TRUE(troupe::is(crash.error(), troupe::errc::handler_failed))
    << troupe::describe(crash.error());
  EXPECT_EQ(or_minus_one(
              troupe::ask<int>(n_.system(), hdl, 5s, std::string{"calls"})),
            0);
  auto after = sup.which_children();
  ASSERT_TRUE(after && after->size() == 1u);
  EXPECT_EQ(after->at(0).restarts, 1u);
}
