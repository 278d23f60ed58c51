// SPDX-License-Identifier: Apache-2.0
#include "introspection/request.hpp"

#include <caf/type_erased_tuple.hpp>
#include <fmt/format.h>

#include "troupe/error.hpp"
#include "troupe/wire/introspect.pb.h"
#include "troupe/wire/proto.hpp"
#include "troupe/wire/rejected_message.hpp"

namespace troupe::detail {

namespace {

/// Equal strings, in a time that depends on their lengths only.
bool same_secret(const std::string& given, const std::string& expected) {
  if (given.size() != expected.size())
    return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < given.size(); ++i)
    diff |= static_cast<unsigned char>(given[i] ^ expected[i]);
  return diff == 0;
}

/// At most `n` bytes of a string from another process, for a message.
std::string clip(const std::string& x, size_t n = 128) {
  return x.size() <= n ? x : x.substr(0, n) + "...";
}

} // namespace

caf::error check_kill_request(const wire::KillRequest& req,
                              const std::string& secret) {
  if (!secret.empty() && !same_secret(req.secret(), secret))
    return make_error(errc::bad_config,
                      "refused: this cluster requires a secret for "
                      "'troupe kill' (--secret or TROUPE_SECRET)");
  const auto& path = req.path();
  if (path.empty() || path[0] != '/' || path.size() > max_actor_path)
    return make_error(errc::name_not_found,
                      fmt::format("'{}' is not an actor path (such as "
                                  "/root/workers/w1)",
                                  clip(path)));
  if (!wire::KillRequest::Mode_IsValid(req.mode()))
    return make_error(errc::bad_config,
                      fmt::format("unknown kill mode {} (this node knows "
                                  "exit and throw)",
                                  static_cast<int>(req.mode())));
  return caf::none;
}

std::string kill_text(const kill_outcome& x) {
  auto who = fmt::format("{} (actor {} on {})", x.path, x.id, x.node);
  auto temporary = x.restart == restart_type::temporary;
  if (!x.thrown) {
    auto head = fmt::format("killed {}: exit", who);
    if (!x.supervised)
      return head + "; it has no supervisor: nothing restarts it";
    if (temporary)
      return head + "; it is a temporary child: its supervisor does not "
                    "restart it";
    return head + "; its supervisor respawns it from its spec (new address)" +
           (x.restart ? "" : " unless the child is temporary");
  }
  auto head = fmt::format("failed {} as a handler throw would", who);
  if (!x.supervised)
    return head + "; it has no supervisor: it ends with the error";
  if (temporary)
    return head + "; its supervisor decides: a temporary child stays down";
  if (x.remote)
    return head +
           "; it runs on another node, where it cannot restart in "
           "place: its supervisor respawns it from its spec (new "
           "address)" +
           (x.restart ? "" : " unless the child is temporary");
  return head + "; its supervisor decides: restart in place (same address)" +
         (x.restart ? "" : " unless the child is temporary");
}

caf::error refuse_introspect_request(const caf::type_erased_tuple& content) {
  if (content.match_elements<wire::rejected_message>()) {
    auto& x = content.get_as<wire::rejected_message>(0);
    return make_error(errc::rejected_message,
                      fmt::format("troupe.introspect refused a '{}': {}",
                                  clip(x.type_name), clip(x.reason)));
  }
  return make_error(errc::rejected_message,
                    fmt::format("troupe.introspect takes a SnapshotRequest or "
                                "a KillRequest, not a message of {} "
                                "element(s)",
                                content.size()));
}

} // namespace troupe::detail
