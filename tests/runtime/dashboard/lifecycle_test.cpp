// SPDX-License-Identifier: Apache-2.0
// The dashboard's life with its node: off by default, a port in use fails
// the start, /readyz through the shutdown, and a prompt stop.
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include <caf/after.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "dashboard/server.hpp"
#include "dashboard/state.hpp"
#include "dashboard_fixture.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using troupe::test::Dashboard;
using troupe::test::http_client;
using troupe::test::next_event;
using troupe::test::open_events;
using troupe::test::request;
using troupe::test::sse_event;

TEST_F(Dashboard, StopsPromptlyWithAViewerConnected) {
  troupe::dashboard::settings s;
  troupe::dashboard::server srv{*n, s};
  auto c = open_events(srv.port());
  ASSERT_TRUE(next_event(c, [](auto&) { return true; }, 5s));
  auto start = std::chrono::steady_clock::now();
  srv.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
  EXPECT_TRUE(c.wait_closed(2s));
}

TEST(DashboardOff, OffByDefaultAndNotReadyUnlessRunning) {
  troupe::node_config cfg;
  cfg.log = troupe::log_level::error;
  troupe::node idle{cfg};
  EXPECT_EQ(idle.http_port(), 0);
  // A server over a node that is not running: alive, not ready, and with
  // no token every action is refused.
  troupe::dashboard::server srv{idle, {}};
  EXPECT_EQ(request(srv.port(), "GET", "/healthz").status, 200);
  EXPECT_EQ(request(srv.port(), "GET", "/readyz").status, 503);
  EXPECT_EQ(request(srv.port(), "POST", "/api/kill",
                    "Authorization: Bearer anything\r\n", "{\"path\":\"/\"}")
              .status,
            403);
}

namespace {

// A child that takes its time to stop: it notes the exit its supervisor
// sends at shutdown and quits only when told (any int), so the test holds
// its node in the first phase of the shutdown for as long as it needs.
struct lingerer_state {
  static inline const char* name = "lingerer";
  bool asked = false;
};

caf::behavior lingerer(troupe::stateful_actor<lingerer_state>* self,
                       std::shared_ptr<std::promise<void>> asked) {
  self->set_exit_handler([self, asked](caf::exit_msg&) {
    if (!self->state.asked) {
      self->state.asked = true;
      asked->set_value();
    }
  });
  return {[self](int) { self->quit(); }};
}

} // namespace

// While the node stops its trees, /readyz says 503 (a load balancer takes
// it out) and /healthz still 200; once stopped, the port is closed.
TEST(DashboardStopping, ReadyzIs503WhileTheNodeStops) {
  troupe::node_config cfg;
  cfg.name = "stopping";
  cfg.log = troupe::log_level::error;
  cfg.http_port = 0;
  troupe::node n{cfg};
  ASSERT_FALSE(n.start());
  auto port = n.http_port();
  auto asked = std::make_shared<std::promise<void>>();
  troupe::child_spec spec;
  spec.id = "lingering";
  spec.restart = troupe::restart_type::temporary;
  spec.start = [asked](caf::actor_system& sys) {
    return troupe::spawn(sys, lingerer, asked);
  };
  auto root = n.start_root({}, {spec});
  caf::actor child;
  {
    caf::scoped_actor self{n.system()};
    self->request(root, 5s, troupe::children_atom::value)
      .receive([&](std::vector<troupe::child_status>& xs) {
        child = xs.at(0).handle;
      },
               [&](caf::error& err) { FAIL() << troupe::describe(err); });
  }
  EXPECT_EQ(request(port, "GET", "/readyz").status, 200);

  // The checks run beside the shutdown, which stays on this thread.
  struct seen {
    int ready = 0, health = 0;
  };
  auto checks = std::async(std::launch::async, [&] {
    seen out;
    // The child was asked to stop: the node is stopping its trees.
    if (asked->get_future().wait_for(5s) != std::future_status::ready)
      return out;
    out.ready = request(port, "GET", "/readyz").status;
    out.health = request(port, "GET", "/healthz").status;
    caf::anon_send(child, 1);
    return out;
  });
  EXPECT_TRUE(n.shutdown());
  auto got = checks.get();
  EXPECT_EQ(got.ready, 503);
  EXPECT_EQ(got.health, 200);
  EXPECT_EQ(n.http_port(), 0);
  EXPECT_EQ(request(port, "GET", "/healthz", "", "", 1s).status, 0)
    << "still serving after the shutdown";
}

TEST(DashboardStopping, APortInUseFailsTheStart) {
  troupe::node_config cfg;
  cfg.log = troupe::log_level::off;
  cfg.http_port = 0;
  troupe::node a{cfg};
  ASSERT_FALSE(a.start());
  cfg.http_port = a.http_port();
  troupe::node b{cfg};
  auto err = b.start();
  ASSERT_TRUE(err);
  EXPECT_TRUE(troupe::is(err, troupe::errc::bad_config));
  EXPECT_NE(troupe::describe(err).find("dashboard"), std::string::npos)
    << troupe::describe(err);
}
