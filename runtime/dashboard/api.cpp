// SPDX-License-Identifier: Apache-2.0
#include "dashboard/api.hpp"

#include <chrono>

#include <boost/asio/post.hpp>

#include "dashboard/assets.hpp"
#include "dashboard/forward.hpp"
#include "dashboard/state.hpp"
#include "troupe/error.hpp"
#include "troupe/node/introspection.hpp"

namespace troupe::dashboard {

namespace {

namespace asio = boost::asio;
using nlohmann::json;

// What a response needs of its request, copied for the worker thread.
struct reply_to {
  unsigned version;
  bool keep_alive;
  bool head;
};

reply_to of(const request& req) {
  return {req.version(), req.keep_alive(), req.method() == http::verb::head};
}

response make(http::status status, std::string body,
              std::string_view content_type, reply_to to) {
  response res{status, to.version};
  res.set(http::field::server, "troupe");
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  // The page loads its own files and talks to its own node, nothing else.
  res.set("Content-Security-Policy",
          "default-src 'self'; frame-ancestors 'none'; base-uri 'none'");
  res.keep_alive(to.keep_alive);
  if (to.head) {
    res.content_length(body.size());
  } else {
    res.body() = std::move(body);
    res.prepare_payload();
  }
  return res;
}

response refusal(http::status status, std::string_view why, reply_to to) {
  return make(status, dump(json{{"error", why}}) + "\n", "application/json",
              to);
}

int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// Started, and joined when it has seeds: some other member is up.
bool ready(node& owner, std::string& why) {
  if (!owner.running()) {
    why = "not running";
    return false;
  }
  if (owner.config().seeds.empty())
    return true;
  for (auto& m : owner.members())
    if (m.name != owner.name() && m.status == member_status::up)
      return true;
  why = "not joined: no other member is up";
  return false;
}

// Runs `job` on the worker and its response's `done` on the I/O thread.
template <class Job>
void on_worker(hub& h, std::function<void(response)> done, Job job) {
  asio::post(h.worker, [&h, done = std::move(done), job]() mutable {
    auto res = job();
    asio::post(h.io, [done = std::move(done), res = std::move(res)]() mutable {
      done(std::move(res));
    });
  });
}

response cluster(hub& h, reply_to to) {
  if (!h.owner.running())
    return refusal(http::status::service_unavailable, "node is stopping", to);
  auto snap = h.owner.snapshot_cluster(h.cfg.snapshot_timeout);
  auto state = to_state(snap, true);
  state["t"] = unix_ms_now();
  // The export carries the sparklines' history too.
  state["history"] = h.past.to_json(true);
  return make(http::status::ok, dump(state) + "\n", "application/json", to);
}

// `member`: the node whose trees hold the actor; empty or this node's
// name: here, else forwarded to that member.
response kill(hub& h, const std::string& member, const std::string& path,
              node::fail_mode mode, reply_to to) {
  if (!h.owner.running())
    return refusal(http::status::service_unavailable, "node is stopping", to);
  auto res = member.empty() || member == h.owner.name()
               ? h.owner.fail_actor(path, mode)
               : forward_kill(h.owner, member, path, mode,
                              h.cfg.snapshot_timeout * 2);
  if (!res) {
    auto status = is(res.error(), errc::name_not_found)
                    ? http::status::not_found
                  : is(res.error(), errc::bad_config)
                    ? http::status::bad_request
                  : is(res.error(), errc::node_down)
                    ? http::status::bad_gateway
                    : http::status::internal_server_error;
    return refusal(status, describe(res.error()), to);
  }
  json out = {{"node", res->node()},
              {"id", res->id()},
              {"mode", res->mode() == wire::KillRequest::THROW ? "throw"
                                                               : "exit"},
              {"text", res->text()}};
  return make(http::status::ok, dump(out) + "\n", "application/json", to);
}

void answer_kill(hub& h, const request& req,
                 std::function<void(response)>& done) {
  auto to = of(req);
  switch (check_token(req[http::field::authorization], h.cfg.token)) {
    case auth_result::disabled:
      return done(refusal(http::status::forbidden,
                        "actions are off: the node has no --http-token", to));
    case auth_result::missing: {
      auto res = refusal(http::status::unauthorized,
                       "actions need Authorization: Bearer <token>", to);
      res.set(http::field::www_authenticate, "Bearer");
      return done(std::move(res));
    }
    case auth_result::wrong:
      return done(refusal(http::status::forbidden, "wrong token", to));
    case auth_result::ok:
      break;
  }
  auto body = json::parse(req.body(), nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("path")
      || !body["path"].is_string()
      || (body.contains("node") && !body["node"].is_string()))
    return done(refusal(http::status::bad_request,
                      "expected {\"path\": \"...\", \"mode\": "
                      "\"exit\"|\"throw\", \"node\": \"...\" (optional)}",
                      to));
  auto mode = node::fail_mode::exit;
  auto m = body.value("mode", json("exit"));
  if (m == "throw")
    mode = node::fail_mode::handler_throw;
  else if (m != "exit")
    return done(refusal(http::status::bad_request,
                      "mode must be \"exit\" or \"throw\"", to));
  on_worker(h, std::move(done),
            [&h, member = body.value("node", std::string{}),
             path = body["path"].get<std::string>(), mode, to] {
              return kill(h, member, path, mode, to);
            });
}

} // namespace

response make_response(http::status status, std::string body,
                       std::string_view content_type, const request& req) {
  return make(status, std::move(body), content_type, of(req));
}

void answer(hub& h, const route& r, const request& req,
            std::function<void(response)> done) {
  auto to = of(req);
  switch (r.kind) {
    case route_kind::healthz:
      return done(make(http::status::ok, "ok\n", "text/plain", to));
    case route_kind::readyz: {
      std::string why;
      if (ready(h.owner, why))
        return done(make(http::status::ok, "ready\n", "text/plain", to));
      return done(make(http::status::service_unavailable, why + "\n",
                       "text/plain", to));
    }
    case route_kind::asset: {
      auto a = find_asset(r.path);
      return done(make(http::status::ok, std::string{a->body},
                       a->content_type, to));
    }
    case route_kind::cluster:
      return on_worker(h, std::move(done), [&h, to] { return cluster(h, to); });
    case route_kind::history: {
      // `/api/history`: the members' and links'; `/api/history/actor/<key>`:
      // one actor's, which it keeps from now on (a viewer opened it).
      constexpr std::string_view prefix = "/api/history/actor/";
      json body;
      if (r.path.size() > prefix.size()) {
        auto key = r.path.substr(prefix.size());
        h.past.watch(key, unix_ms_now());
        body = h.past.actor_json(key);
      } else {
        body = h.past.to_json(false);
      }
      body["t"] = unix_ms_now();
      return done(
        make(http::status::ok, dump(body) + "\n", "application/json", to));
    }
    case route_kind::kill:
      return answer_kill(h, req, done);
    case route_kind::bad_path:
      return done(refusal(http::status::bad_request, "bad path", to));
    case route_kind::bad_method: {
      auto res = refusal(http::status::method_not_allowed, "method not allowed",
                       to);
      res.set(http::field::allow, r.allow);
      return done(std::move(res));
    }
    case route_kind::events: // the session's, never here
    case route_kind::not_found:
      break;
  }
  done(refusal(http::status::not_found, "not found", to));
}

} // namespace troupe::dashboard
