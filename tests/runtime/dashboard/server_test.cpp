// SPDX-License-Identifier: Apache-2.0
// A node's dashboard over real sockets on 127.0.0.1: health, the page, the
// cluster as JSON, live events with resume, and the token-guarded kill.
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
  // The first full state is the sampler's last snapshot, which may predate
  // the tree (without viewers it samples only now and then): follow the
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
  self->monitor(a);
  auto ok = request(port, "POST", "/api/kill", auth, body);
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto reply = json::parse(ok.body);
  EXPECT_EQ(reply["id"], a.id());
  EXPECT_EQ(reply["mode"], "exit");
  self->receive([](const caf::down_msg&) {},
                caf::after(5s) >> [] { ADD_FAILURE() << "a did not fail"; });
  // CAF notifies the newest monitor first: this test's down message can
  // arrive before the supervisor's, so wait (bounded) for its restart.
  auto until = std::chrono::steady_clock::now() + 5s;
  while (restarts_of_a() == 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(restarts_of_a(), 1u);
}

// The sampler takes snapshots only while someone views, at most once a
// period (here 100 ms, to keep the test short).
TEST_F(Dashboard, SamplesOnlyWhileViewedAndAtMostOnceAPeriod) {
  troupe::dashboard::settings s;
  s.sample_period = 100ms;
  troupe::dashboard::server srv{*n, s};
  EXPECT_EQ(request(srv.port(), "GET", "/api/cluster").status, 200);
  EXPECT_EQ(srv.stats().samples, 0u) << "sampled without a viewer";
  auto start = std::chrono::steady_clock::now();
  {
    auto c = open_events(srv.port());
    ASSERT_TRUE(next_event(c, [](auto&) { return true; }, 5s));
    // Followed for about 1 s: at most one sample per period (+1 for the
    // first, taken at once).
    next_event(c, [](auto&) { return false; }, 1s);
  }
  auto viewed = std::chrono::steady_clock::now() - start;
  auto limit = 2 + static_cast<uint64_t>(viewed / 100ms);
  auto taken = srv.stats().samples;
  EXPECT_GE(taken, 5u);
  EXPECT_LE(taken, limit);
  // The viewer left: once the server saw it go, no more samples.
  for (int i = 0; i < 200 && srv.stats().viewers > 0; ++i)
    std::this_thread::sleep_for(5ms);
  ASSERT_EQ(srv.stats().viewers, 0u);
  auto after = srv.stats().samples;
  std::this_thread::sleep_for(350ms); // three periods and a half
  EXPECT_LE(srv.stats().samples, after + 1) << "still sampling";
}

// Without a viewer, a snapshot every history_period keeps the history
// going (not the live views' sampling); /api/history serves it, an
// actor's history is kept once a viewer asked for it, and the export
// (/api/cluster) carries it.
TEST_F(Dashboard, KeepsAHistoryWithoutViewersAndServesIt) {
  troupe::dashboard::settings s;
  s.sample_period = 100ms;
  s.history_period = 50ms;
  troupe::dashboard::server srv{*n, s};
  auto points = [&] {
    auto res = request(srv.port(), "GET", "/api/history");
    EXPECT_EQ(res.status, 200) << res.body;
    auto j = json::parse(res.body, nullptr, false);
    return j.is_discarded() || !j["nodes"].contains("dash")
             ? size_t{0}
             : j["nodes"]["dash"]["ms"].size();
  };
  for (int i = 0; i < 400 && points() < 3; ++i)
    std::this_thread::sleep_for(10ms); // polling the server's history
  ASSERT_GE(points(), 3u);
  EXPECT_EQ(srv.stats().samples, 0u) << "no viewer: no live sampling";
  EXPECT_GE(srv.stats().history_samples, 3u);
  auto j = json::parse(request(srv.port(), "GET", "/api/history").body);
  auto& dash = j["nodes"]["dash"];
  for (auto col : {"msgs_per_sec", "mailbox", "restarts", "dead_letters"})
    EXPECT_EQ(dash[col].size(), dash["ms"].size()) << col;
  EXPECT_FALSE(j.contains("actors")) << "actors come one at a time";
  // An idle actor has no history until a viewer opens it; then it has.
  auto actor = [&] {
    auto res =
      request(srv.port(), "GET", "/api/history/actor/dash%3A%2Froot%2Fa");
    EXPECT_EQ(res.status, 200) << res.body;
    return json::parse(res.body);
  };
  auto first = actor();
  EXPECT_EQ(first["key"], "dash:/root/a");
  EXPECT_TRUE(first["ms"].empty());
  for (int i = 0; i < 400 && actor()["ms"].size() < 2; ++i)
    std::this_thread::sleep_for(10ms); // polling, as above
  EXPECT_GE(actor()["ms"].size(), 2u);
  auto exported = json::parse(request(srv.port(), "GET", "/api/cluster").body);
  ASSERT_TRUE(exported.contains("history"));
  EXPECT_TRUE(exported["history"]["actors"].contains("dash:/root/a"));
  EXPECT_TRUE(exported["history"]["nodes"].contains("dash"));
}
