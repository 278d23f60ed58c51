#pragma once

#include <string>

#include <caf/error.hpp>
#include <caf/fwd.hpp>

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
/// answer time says nothing about how much of a guess was right), and its
/// path must look like an actor path ("/root/...").
caf::error check_kill_request(const wire::KillRequest& req,
                              const std::string& secret);

/// The service's answer to anything but its two requests (SnapshotRequest,
/// KillRequest): an error that says why, where CAF's default handler would
/// print the whole message on stdout.
caf::error refuse_introspect_request(const caf::type_erased_tuple& content);

} // namespace troupe::detail
