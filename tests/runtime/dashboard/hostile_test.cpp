// SPDX-License-Identifier: Apache-2.0
// Hostile clients of a node's dashboard: oversized headers and bodies,
// traversal, unknown methods, junk, slow loris, too many connections;
// after each the node still serves.
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

TEST_F(Dashboard, HostileRequestsGetErrorsAndTheNodeKeepsServing) {
  // Headers beyond the limit: 431 (read by the client although it was
  // still sending), then the connection closes.
  {
    http_client c{port};
    c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: "
           + std::string(64 * 1024, 'a') + "\r\n\r\n");
    EXPECT_TRUE(c.wait_closed(5s));
    EXPECT_EQ(troupe::test::parse_response(c.received()).status, 431)
      << c.received().substr(0, 200);
  }
  EXPECT_EQ(request(port, "GET", "/healthz").status, 200);
  // A body announced beyond the limit: 413 before it is sent.
  auto big = request(port, "POST", "/api/kill",
                     "Content-Length: 10000000\r\n", "");
  EXPECT_EQ(big.status, 413) << big.head;
  for (auto target : {"/../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                      "/static/..%2f..%2fetc%2fpasswd"}) {
    auto res = request(port, "GET", target);
    EXPECT_GE(res.status, 400) << target;
    EXPECT_LT(res.status, 500) << target;
    EXPECT_EQ(res.body.find("root:"), std::string::npos);
  }
  auto brew = request(port, "BREW", "/healthz");
  EXPECT_EQ(brew.status, 405);
  EXPECT_EQ(request(port, "DELETE", "/api/cluster").status, 405);
  {
    http_client c{port};
    c.send("this is not http\r\n\r\n");
    c.wait_closed(5s);
    EXPECT_EQ(troupe::test::parse_response(c.received()).status, 400)
      << c.received();
  }
  EXPECT_EQ(request(port, "GET", "/healthz").status, 200);
  EXPECT_EQ(request(port, "GET", "/readyz").status, 200);
}

// A client that sends its request a byte at a time, slower than the read
// deadline allows, is dropped at the deadline; so are idle connections
// beyond the cap, at once.
TEST_F(Dashboard, SlowLorisIsDroppedAndConnectionsAreCapped) {
  troupe::dashboard::settings s;
  s.read_timeout = 300ms;
  s.max_connections = 2;
  troupe::dashboard::server srv{*n, s};
  auto start = std::chrono::steady_clock::now();
  http_client slow{srv.port()};
  std::string req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  bool dropped = false;
  for (int i = 0; i < 200 && !dropped; ++i) {
    slow.send(std::string(1, req[i % req.size()]));
    dropped = slow.wait_closed(50ms);
  }
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(dropped);
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 3s);

  http_client a{srv.port()}, b{srv.port()};
  ASSERT_TRUE(a.connected() && b.connected());
  for (int i = 0; i < 400 && srv.stats().connections < 3; ++i)
    std::this_thread::sleep_for(5ms); // until the server accepted a and b
  http_client c{srv.port()};
  EXPECT_TRUE(c.wait_closed(2s)) << "a third connection was kept";
  EXPECT_EQ(srv.stats().refused, 1u);
  // a and b time out; then the server answers again.
  EXPECT_TRUE(a.wait_closed(2s));
  EXPECT_TRUE(b.wait_closed(2s));
  EXPECT_EQ(request(srv.port(), "GET", "/healthz").status, 200);
}
