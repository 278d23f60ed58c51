// SPDX-License-Identifier: Apache-2.0
// What the dashboard's socket tests share: a node serving its dashboard
// with a small tree, and a reader of Server-Sent Events.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http_client.hpp"
#include "troupe/error.hpp"
#include "troupe/node/introspection.hpp"
#include "troupe/node/node.hpp"
#include "troupe/supervision/supervisor.hpp"

namespace troupe::test {

using namespace std::chrono_literals;
using nlohmann::json;

struct counter_state {
  static inline const char* name = "counter";
};

inline caf::behavior counter(troupe::stateful_actor<counter_state>*) {
  return {[](int x) { return x; }};
}

inline troupe::child_spec worker(std::string id) {
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

inline http_client open_events(uint16_t port, const std::string& last_id = "") {
  http_client c{port};
  c.send("GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
         + (last_id.empty() ? "" : "Last-Event-ID: " + last_id + "\r\n")
         + "\r\n");
  return c;
}

} // namespace troupe::test
