// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <caf/error.hpp>
#include <caf/fwd.hpp>

#include "troupe/supervision/child_spec.hpp"

namespace troupe::wire {
class KillRequest;
} // namespace troupe::wire

/// The checks the `troupe.introspect` service runs on what other processes
/// send it, before any work: kept apart from the service (snapshot.cpp) so
/// that the fuzzer (tests/fuzz/introspect_fuzz.cpp) runs them on their own.
namespace troupe::detail {

/// Longest actor path a KillRequest may name.
constexpr size_t max_actor_path = 4096;

/// Whether a KillRequest may run on a node whose secret is `secret`: with a
/// secret set, the request must carry it (compared in constant time, so its
/// answer time says nothing about how much of a guess was right), its path
/// must look like an actor path ("/root/..."), and its mode must be one this
/// node knows (`errc::bad_config` otherwise: Protobuf keeps unknown enum
/// values).
caf::error check_kill_request(const wire::KillRequest& req,
                              const std::string& secret);

/// What a KillRequest did, as `kill_text` words it for the user.
struct kill_outcome {
  std::string path;
  std::string node;       // the member the actor runs on
  uint64_t id = 0;        // its CAF actor id there
  bool thrown = false;    // troupe::fail_atom, rather than an exit message
  bool supervised = true; // false for a root or an unsupervised actor
  /// It runs on another node than the one asked (a remote child): spawned
  /// there by a factory, it cannot restart in place.
  bool remote = false;
  /// The child's restart type, when its supervisor said.
  std::optional<restart_type> restart;
};

/// One sentence: what was done to the actor and what its supervisor does
/// next, such as "killed /root/a (actor 42 on n2): exit; its supervisor
/// respawns it from its spec (new address)". The reply's `text`.
std::string kill_text(const kill_outcome& x);

/// The service's answer to anything but its two requests (SnapshotRequest,
/// KillRequest): an error that says why, where CAF's default handler would
/// print the whole message on stdout.
caf::error refuse_introspect_request(const caf::type_erased_tuple& content);

} // namespace troupe::detail
