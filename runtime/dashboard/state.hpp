// SPDX-License-Identifier: Apache-2.0
// The dashboard's view of the cluster as JSON (nlohmann-json), and the
// deltas between two views that the live page is sent.
//
// A state is {"nodes": {name: {...}}, "actors": {key: {...}},
// "timeline": {key: {...}}}, where an actor's key is "<node whose tree
// lists it>:<path>", unique in the cluster, and a timeline entry's is its
// observer's name and number (`timeline_key`). A delta is {"nodes": {name:
// {...}}, "nodes_removed": [name...], "added": {key: {...}}, "changed":
// {key: {...}}, "removed": [key...]}, plus "timeline" and
// "timeline_removed" when the timeline changed:
// added and changed actors and nodes come whole (an actor is a few hundred
// bytes; field-level patches would cost the page more than the wire).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace troupe::wire {
class ClusterSnapshot;
} // namespace troupe::wire

namespace troupe::dashboard {

/// `snap` as a state. `with_uptime` adds the uptimes, which change on
/// every sample: /api/cluster has them, the live state leaves them out so
/// that an idle actor is not "changed" every second.
nlohmann::json to_state(const wire::ClusterSnapshot& snap, bool with_uptime);

/// The key of an observer's member change in the state's "timeline":
/// "<observer>:<seq, zero-padded>".
std::string timeline_key(const std::string& observer, uint64_t seq);

/// Keeps in `after` the timeline entries of `before` whose observer does
/// not answer in `after` (a node that went down would otherwise take what
/// it saw with it), then drops the oldest beyond `max_entries`.
void carry_timeline(const nlohmann::json& before, nlohmann::json& after,
                    size_t max_entries = 1000);

/// What turns `before` into `after`; empty (`delta_empty`) when equal.
nlohmann::json diff(const nlohmann::json& before, const nlohmann::json& after);

bool delta_empty(const nlohmann::json& delta);

/// Applies `delta` to `state` (what the page does; tests check that
/// apply(a, diff(a, b)) == b).
void apply(nlohmann::json& state, const nlohmann::json& delta);

/// Compact JSON that never throws: invalid UTF-8 (an actor's failure text
/// is whatever its exception said) becomes U+FFFD.
std::string dump(const nlohmann::json& x);

} // namespace troupe::dashboard
