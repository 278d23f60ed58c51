// SPDX-License-Identifier: Apache-2.0
// A node's dashboard over real sockets on 127.0.0.1: health, the page, the
// cluster as JSON, live events with resume, the token-guarded kill, and
// hostile clients, after each of which the node still serves.
#include "dashboard/server.hpp"

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

#include "dashboard/state.hpp"
#include "http_client.hpp"
#include "troupe/error.hpp"
#include "troupe/node/introspection.hpp"
#include "troupe/node/node.hpp"
#include "troupe/supervision/supervisor.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using troupe::test::http_client;
using troupe::test::request;

namespace {

struct counter_state {
  static inline const char* name = "counter";
};

caf::behavior counter(troupe::stateful_actor<counter_state>*) {
  return {[](int x) { return x; }};
}

troupe::child_spec worker(std::string id) {
  troupe::child_spec spec;
  spec.id = std::move(id);
  spec.start = [](caf::actor_system& sys) {
    return troupe::spawn(sys, counter);
  };
  return spec;
}

/// A node serving its dashboard (OS-chosen port, token "t0ken"), with a
/// supervisor "/root" over a worker "/root/a" and a supervisor "/root/sub"
/// over "/root/sub/x".
class Dashboard : public testing::Test {
protected:
  void SetUp() override {
    troupe::node_config cfg;
    cfg.name = "dash";
    cfg.log = troupe::log_level::error;
    cfg.http_port = 0;
    cfg.http_token = "t0ken";
    n = std::make_unique<troupe::node>(cfg);
    ASSERT_FALSE(n->start());
    port = n->http_port();
    ASSERT_NE(port, 0);
    troupe::child_spec sub;
    sub.id = "sub";
    sub.kind = troupe::child_kind::supervisor;
    sub.start = [](caf::actor_system& sys) {
      return troupe::spawn_supervisor(sys, {}, {worker("x")});
    };
    root = n->start_root({}, {worker("a"), sub});
  }

  caf::actor child_a() {
    caf::scoped_actor self{n->system()};
    caf::actor a;
    self->request(root, 5s, troupe::children_atom::value)
      .receive([&](std::vector<troupe::child_status>& xs) { a = xs[0].handle; },
               [&](caf::error& err) { FAIL() << troupe::describe(err); });
    return a;
  }

  uint64_t restarts_of_a() {
    auto snap = n->snapshot_local();
    for (auto& x : snap.actors())
      if (x.path() == "/root/a")
        return x.restarts();
    return 0;
  }

  std::unique_ptr<troupe::node> n;
  caf::actor root;
  uint16_t port = 0;
};

/// One SSE event as read from the stream.
struct sse_event {
  std::string id;
  std::string event;
  json data;
};

/// Reads SSE events from `c` (past its response head) until `pred` holds
/// for one of them, or `timeout`. Consumed events leave `c`'s buffer.
template <class Pred>
std::optional<sse_event> next_event(http_client& c, Pred pred,
                                    std::chrono::milliseconds timeout) {
  std::optional<sse_event> found;
  c.read_until(
    [&](std::string& in) {
      if (auto head = in.find("\r\n\r\n"); head != std::string::npos
                                           && in.rfind("HTTP/", 0) == 0)
        in.erase(0, head + 4);
      size_t end;
      while ((end = in.find("\n\n")) != std::string::npos) {
        auto frame = in.substr(0, end);
        in.erase(0, end + 2);
        sse_event e;
        size_t at = 0;
        while (at < frame.size()) {
          auto eol = frame.find('\n', at);
          auto line = frame.substr(at, eol == std::string::npos ? eol : eol - at);
          at = eol == std::string::npos ? frame.size() : eol + 1;
          if (line.rfind("id: ", 0) == 0)
            e.id = line.substr(4);
          else if (line.rfind("event: ", 0) == 0)
            e.event = line.substr(7);
          else if (line.rfind("data: ", 0) == 0)
            e.data = json::parse(line.substr(6));
        }
        if (!e.event.empty() && pred(e)) {
          found = std::move(e);
          return true;
        }
      }
      return false;
    },
    timeout);
  return found;
}

http_client open_events(uint16_t port, const std::string& last_id = "") {
  http_client c{port};
  c.send("GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
         + (last_id.empty() ? "" : "Last-Event-ID: " + last_id + "\r\n")
         + "\r\n");
  return c;
}

} // namespace

TEST_F(Dashboard, ServesHealthReadinessThePageAndTheClusterAsJson) {
  auto health = request(port, "GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
  EXPECT_EQ(request(port, "GET", "/readyz").status, 200);
  EXPECT_EQ(request(port, "HEAD", "/healthz").status, 200);
  auto page = request(port, "GET", "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.head.find("text/html"), std::string::npos) << page.head;
  EXPECT_NE(page.body.find("app.js"), std::string::npos);
  EXPECT_EQ(request(port, "GET", "/app.js").status, 200);
  EXPECT_EQ(request(port, "GET", "/nothing-here").status, 404);

  auto res = request(port, "GET", "/api/cluster");
  ASSERT_EQ(res.status, 200) << res.head << res.body;
  auto cluster = json::parse(res.body, nullptr, false);
  ASSERT_FALSE(cluster.is_discarded()) << res.body;
  // "joining" for a moment after the start, until its own entry is up.
  auto status = cluster["nodes"]["dash"]["status"];
  EXPECT_TRUE(status == "up" || status == "joining") << res.body;
  auto& actors = cluster["actors"];
  for (auto key : {"dash:/root", "dash:/root/a", "dash:/root/sub",
                   "dash:/root/sub/x"})
    EXPECT_TRUE(actors.contains(key)) << key << "\n" << res.body;
  EXPECT_EQ(actors["dash:/root/a"]["parent"], "dash:/root");
  EXPECT_EQ(actors["dash:/root/sub"]["kind"], "supervisor");
  EXPECT_EQ(actors["dash:/root/a"]["status"], "running");
  EXPECT_TRUE(actors["dash:/root/a"].contains("uptime_ms"));
}

TEST_F(Dashboard, LiveEventsShowAFailureAndResumeFromLastEventId) {
  auto c = open_events(port);
  auto full = next_event(c, [](auto&) { return true; }, 5s);
  ASSERT_TRUE(full) << c.received();
  ASSERT_EQ(full->event, "full");
  // The root starts its children after start_root returns: follow the
  // deltas, as the page does, until the tree has /root/a.
  auto view = full->data;
  auto latest = *full;
  while (!view["actors"].contains("dash:/root/a")) {
    auto next = next_event(c, [](auto&) { return true; }, 5s);
    ASSERT_TRUE(next) << "no /root/a: " << view.dump();
    ASSERT_EQ(next->event, "delta");
    troupe::dashboard::apply(view, next->data);
    latest = *next;
  }
  EXPECT_EQ(view["actors"]["dash:/root/a"]["restarts"], 0);

  ASSERT_TRUE(n->fail_actor("/root/a", troupe::node::fail_mode::handler_throw));
  auto changed = next_event(
    c,
    [](const sse_event& e) {
      if (e.event != "delta" || !e.data["changed"].contains("dash:/root/a"))
        return false;
      return e.data["changed"]["dash:/root/a"]["restarts"] == 1;
    },
    5s);
  ASSERT_TRUE(changed) << "no delta with the restart: " << c.received();
  auto& a = changed->data["changed"]["dash:/root/a"];
  EXPECT_NE(a["last_failure"].get<std::string>(), "") << a;

  // A viewer back with the full state's id gets the deltas since, not the
  // state again; one with an id it does not know gets the full state.
  auto resumed = open_events(port, latest.id);
  auto first = next_event(resumed, [](auto&) { return true; }, 5s);
  ASSERT_TRUE(first) << resumed.received();
  EXPECT_EQ(first->event, "delta");
  EXPECT_NE(first->id, latest.id);
  // Among the deltas it missed: the restart (and no full state).
  auto missed = next_event(
    resumed,
    [](const sse_event& e) {
      return e.event == "full" || e.data["changed"].contains("dash:/root/a");
    },
    first->data["changed"].contains("dash:/root/a") ? 0ms : 5s);
  EXPECT_TRUE(first->data["changed"].contains("dash:/root/a")
              || (missed && missed->event == "delta"))
    << first->data;
  auto stranger = open_events(port, "1.999");
  auto again = next_event(stranger, [](auto&) { return true; }, 5s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->event, "full");
  EXPECT_EQ(again->data["actors"]["dash:/root/a"]["restarts"], 1);
}

TEST_F(Dashboard, KillNeedsTheToken) {
  std::string body = R"({"path": "/root/a", "mode": "exit"})";
  auto none = request(port, "POST", "/api/kill", "", body);
  EXPECT_EQ(none.status, 401) << none.head;
  EXPECT_NE(none.head.find("WWW-Authenticate: Bearer"), std::string::npos);
  EXPECT_EQ(request(port, "POST", "/api/kill",
                    "Authorization: Bearer wrong\r\n", body)
              .status,
            403);
  EXPECT_EQ(restarts_of_a(), 0u) << "refused, yet killed";
  auto auth = std::string{"Authorization: Bearer t0ken\r\n"};
  EXPECT_EQ(request(port, "POST", "/api/kill", auth, "{not json").status, 400);
  EXPECT_EQ(request(port, "POST", "/api/kill", auth,
                    R"({"path": "/root/a", "mode": "maim"})")
              .status,
            400);
  EXPECT_EQ(request(port, "POST", "/api/kill", auth, R"({"path": "/root/no"})")
              .status,
            404);

  auto a = child_a();
  caf::scoped_actor self{n->system()};
  self->monitor(a); // after the supervisor's: its restart comes first
  auto ok = request(port, "POST", "/api/kill", auth, body);
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto reply = json::parse(ok.body);
  EXPECT_EQ(reply["id"], a.id());
  EXPECT_EQ(reply["mode"], "exit");
  self->receive([](const caf::down_msg&) {},
                caf::after(5s) >> [] { ADD_FAILURE() << "a did not fail"; });
  EXPECT_EQ(restarts_of_a(), 1u);
}

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
