// SPDX-License-Identifier: Apache-2.0
// An action on another member's actor from this node's dashboard: the
// node forwards it to the member that owns the tree (with the cluster's
// secret), the token still required.
#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "dashboard_fixture.hpp"
#include "http_client.hpp"
#include "troupe/node/introspection.hpp"
#include "troupe/node/node.hpp"

using namespace std::chrono_literals;
using nlohmann::json;

namespace {

troupe::node_config member(const std::string& name) {
  troupe::node_config cfg;
  cfg.name = name;
  cfg.log = troupe::log_level::error;
  cfg.handle_signals = false;
  cfg.secret = "cluster-secret";
  return cfg;
}

uint64_t restarts(troupe::node& n, const std::string& path) {
  auto snap = n.snapshot_local();
  for (auto& a : snap.actors())
    if (a.path() == path)
      return a.restarts();
  return 0;
}

} // namespace

TEST(DashboardForward, KillsAnotherMembersActorThroughThatMember) {
  auto cfg_a = member("a");
  cfg_a.http_port = 0;
  cfg_a.http_token = "t0ken";
  troupe::node a{cfg_a};
  ASSERT_FALSE(a.start());
  auto cfg_b = member("b");
  cfg_b.seeds = {"127.0.0.1:" + std::to_string(a.port())};
  troupe::node b{cfg_b};
  ASSERT_FALSE(b.start());
  b.start_root({}, {troupe::test::worker("w")});
  // a sees b up (b joined through a: a knows it once b's join is done).
  auto up = [&] {
    for (auto& m : a.members())
      if (m.name == "b" && m.status == troupe::member_status::up)
        return true;
    return false;
  };
  for (int i = 0; i < 500 && !up(); ++i)
    std::this_thread::sleep_for(10ms); // polling the member table
  ASSERT_TRUE(up());

  auto kill = [&](const std::string& body, const std::string& token) {
    return troupe::test::request(
        a.http_port(), "POST", "/api/kill",
        token.empty() ? "" : "Authorization: Bearer " + token + "\r\n", body);
  };
  auto body = R"({"node": "b", "path": "/root/w", "mode": "exit"})";
  EXPECT_EQ(kill(body, "").status, 401);
  EXPECT_EQ(kill(body, "wrong").status, 403);
  EXPECT_EQ(restarts(b, "/root/w"), 0u) << "a refused action acted";

  auto res = kill(body, "t0ken");
  ASSERT_EQ(res.status, 200) << res.head << res.body;
  auto reply = json::parse(res.body);
  EXPECT_EQ(reply["node"], "b");
  EXPECT_EQ(reply["mode"], "exit");
  for (int i = 0; i < 500 && restarts(b, "/root/w") == 0; ++i)
    std::this_thread::sleep_for(10ms); // polling b's tree
  EXPECT_EQ(restarts(b, "/root/w"), 1u);

  // The owner's own checks: an unknown path there, an unknown member here.
  EXPECT_EQ(kill(R"({"node": "b", "path": "/root/nope"})", "t0ken").status,
            404);
  EXPECT_EQ(kill(R"({"node": "zz", "path": "/root/w"})", "t0ken").status, 404);
  EXPECT_EQ(kill(R"({"node": 7, "path": "/root/w"})", "t0ken").status, 400);
}
