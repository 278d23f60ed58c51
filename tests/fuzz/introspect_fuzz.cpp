// SPDX-License-Identifier: Apache-2.0
// Fuzzes what the `troupe.introspect` service does with a request from
// another process (runtime/introspection/request.cpp, snapshot.cpp): the
// message is decoded as CAF's BASP path decodes it, then matched as the
// service matches it: a SnapshotRequest is served, a KillRequest is
// checked (secret, path, mode), anything else is refused with an error. Input:
// the content of a BASP message (stages, then message).
#include <caf/behavior.hpp>

#include "fuzz_system.hpp"
#include "introspection/request.hpp"
#include "troupe/error.hpp"
#include "troupe/wire/introspect.pb.h"

using namespace troupe;

namespace {

/// The service's answer to `msg` on a node whose secret is `secret`: none
/// when it would do the work.
caf::error answer(caf::message& msg, const std::string& secret) {
  caf::error result;
  bool matched = false;
  caf::behavior service{
      [&](const wire::SnapshotRequest&) {
        matched = true;
      },
      [&](const wire::KillRequest& req) {
        matched = true;
        result = detail::check_kill_request(req, secret);
        bool has_secret = req.secret() == secret;
        bool is_path = !req.path().empty() && req.path()[0] == '/' &&
                       req.path().size() <= detail::max_actor_path;
        bool is_mode = req.mode() == wire::KillRequest::EXIT ||
                       req.mode() == wire::KillRequest::THROW;
        if (!result && (!has_secret && !secret.empty()))
          fuzz::fail("a KillRequest without the secret was accepted");
        if (!result && !is_path)
          fuzz::fail("a KillRequest without an actor path was accepted");
        if (!result && !is_mode)
          fuzz::fail("a KillRequest of an unknown mode was accepted");
        if (result && (secret.empty() || has_secret) && is_path && is_mode)
          fuzz::fail("a valid KillRequest was refused");
      },
  };
  service(msg);
  if (!matched) {
    result = detail::refuse_introspect_request(msg.content());
    if (!result)
      fuzz::fail("an unexpected message was not refused");
  }
  if (result && describe(result).size() > 1024)
    fuzz::fail("a refusal echoes too much of the request");
  return result;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& fx = fuzz::fuzz_system::get();
  caf::message msg;
  if (fuzz::decode_basp_content(fx.unit(), data, size, msg))
    return 0;
  answer(msg, "");
  answer(msg, "s3cret");
  return 0;
}
