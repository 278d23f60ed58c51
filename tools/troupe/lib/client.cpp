// SPDX-License-Identifier: Apache-2.0
#include "troupe/tool/client.hpp"

#include "troupe/error.hpp"
#include "troupe/node/node.hpp"
#include "troupe/node/node_config.hpp"
#include "troupe/tool/error.hpp"
#include "troupe/wire/proto.hpp"

#include "format.hpp"

#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>
#include <fmt/format.h>

#include <unistd.h>

#include <optional>

namespace troupe::tool {

namespace {

// The text of a troupe error without its code ("cannot reach node at ...");
// other errors as `describe` renders them.
std::string text_of(const caf::error& err) {
  auto& ctx = err.context();
  if (err.category() == troupe::error_category && ctx.size() == 1 &&
      ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return describe(err);
}

bool is(const caf::error& err, caf::sec x) {
  return err.category() == caf::atom("system") &&
         err.code() == static_cast<uint8_t>(x);
}

// Turns an error of a request to `ep` into one of the tool's, worded for
// the user: `what` names the request ("the snapshot request").
caf::error classify(const caf::error& err, const endpoint& ep,
                    const client_options& opts, const char* what) {
  if (is(err, caf::sec::request_timeout))
    return make_error(
        tool_errc::unreachable,
        fmt::format("{}:{} did not answer {} within {}", ep.host, ep.port, what,
                    detail::format_duration(opts.timeout.count())));
  if (is(err, troupe::errc::connect_failed))
    return make_error(tool_errc::unreachable, text_of(err));
  // What the node answers is never a usage error here (say, a config error
  // of its own): only the unreachable family keeps its own code.
  auto code = exit_code(err) == static_cast<int>(tool_errc::unreachable)
                  ? tool_errc::unreachable
                  : tool_errc::failed;
  return make_error(code, fmt::format("{}:{}: {} failed: {}", ep.host, ep.port,
                                      what, describe(err)));
}

// Starts a client node, finds the service at `ep` and sends it `req`.
// `on_error` may reword what the service answers.
template <class Reply, class Request, class OnError>
caf::expected<Reply> ask(const endpoint& ep, Request req,
                         const client_options& opts, OnError on_error) {
  node_config cfg;
  cfg.name = fmt::format("troupe-tool-{}", ::getpid());
  cfg.port = 0; // OS-chosen; no seeds: the tool never joins the cluster
  cfg.threads = 2;
  cfg.log = opts.log;
  cfg.shutdown_timeout = std::chrono::seconds{2};
  cfg.handle_signals = false; // Ctrl-C stays the tool's
  cfg.secret = opts.secret;
  cfg.tls_ca = opts.tls_ca;
  cfg.tls_cert = opts.tls_cert;
  cfg.tls_key = opts.tls_key;
  node n{cfg};
  n.add_message_type<wire::SnapshotRequest>()
      .add_message_type<wire::ClusterSnapshot>()
      .add_message_type<wire::KillRequest>()
      .add_message_type<wire::KillReply>();
  if (auto err = n.start())
    return make_error(tool_errc::failed,
                      "cannot start the client node: " + describe(err));
  auto hdl = n.lookup(ep.host, ep.port, opts.service, opts.timeout);
  if (!hdl) {
    if (is(hdl.error(), troupe::errc::name_not_found))
      return make_error(tool_errc::failed,
                        fmt::format("{}:{} serves no '{}' (a troupe node "
                                    "without introspection?)",
                                    ep.host, ep.port, opts.service));
    return classify(hdl.error(), ep, opts, "the lookup");
  }
  std::optional<caf::expected<Reply>> result;
  { // The blocking actor must be gone before shutdown, which waits for it.
    caf::scoped_actor self{n.system(), true}; // hidden: not an app actor
    self->request(*hdl, opts.timeout, std::move(req))
        .receive(
            [&](const Reply& x) {
              result = x;
            },
            [&](const caf::error& err) {
              result = caf::expected<Reply>{on_error(err)};
            });
  }
  n.shutdown();
  if (!result)
    return make_error(tool_errc::failed, "no answer (request was not sent)");
  return std::move(*result);
}

} // namespace

caf::expected<endpoint> parse_endpoint(const std::string& text) {
  auto ep = troupe::parse_endpoint(text);
  if (!ep)
    return make_error(tool_errc::usage,
                      "bad address: " + text_of(ep.error()) +
                          " (expected HOST:PORT, e.g. 127.0.0.1:4000)");
  return endpoint{ep->first, ep->second};
}

caf::expected<std::string> parse_actor_path(const std::string& text) {
  auto bad = [&](const char* why) {
    return make_error(tool_errc::usage,
                      fmt::format("bad actor path '{}': {} (expected e.g. "
                                  "/root/workers/w1)",
                                  text, why));
  };
  if (text.empty() || text[0] != '/')
    return bad("it must start with '/'");
  if (text.size() > 1 && text.back() == '/')
    return bad("it must not end with '/'");
  if (text.find("//") != std::string::npos)
    return bad("it has an empty segment");
  if (text == "/")
    return bad("it names no actor");
  return text;
}

caf::expected<wire::ClusterSnapshot>
fetch_snapshot(const endpoint& ep, const client_options& opts) {
  wire::SnapshotRequest req;
  req.set_cluster(opts.cluster);
  return ask<wire::ClusterSnapshot>(
      ep, std::move(req), opts, [&](const caf::error& err) {
        return classify(err, ep, opts, "the snapshot request");
      });
}

caf::expected<wire::KillRequest::Mode>
parse_kill_mode(const std::string& text) {
  if (text == "exit")
    return wire::KillRequest::EXIT;
  if (text == "throw")
    return wire::KillRequest::THROW;
  return make_error(
      tool_errc::usage,
      fmt::format("bad kill mode '{}' (expected exit or throw)", text));
}

caf::expected<wire::KillReply> kill_actor(const endpoint& ep,
                                          const std::string& path,
                                          const std::string& secret,
                                          wire::KillRequest::Mode mode,
                                          const client_options& opts) {
  wire::KillRequest req;
  req.set_path(path);
  req.set_secret(secret);
  req.set_mode(mode);
  return ask<wire::KillReply>(
      ep, std::move(req), opts, [&](const caf::error& err) {
        if (is(err, troupe::errc::name_not_found))
          return make_error(tool_errc::unknown_path,
                            fmt::format("no actor at {} (the node says: {})",
                                        path, text_of(err)));
        return classify(err, ep, opts, "the kill request");
      });
}

std::string kill_summary(const std::string& path, const wire::KillReply& reply,
                         wire::KillRequest::Mode asked) {
  if (!reply.text().empty())
    return detail::one_line(reply.text());
  // A node older than kill modes sends an exit whatever was asked.
  auto out = fmt::format("killed {} (actor {} on {}): exit; its supervisor "
                         "respawns it from its spec (new address)",
                         path, reply.id(), reply.node());
  if (asked != wire::KillRequest::EXIT)
    out += " (the node is older than kill modes: it only knows exit)";
  return out;
}

} // namespace troupe::tool
