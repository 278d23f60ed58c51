// SPDX-License-Identifier: Apache-2.0
// About 15 minutes of the figures the page draws as sparklines, kept in
// memory by the node that serves the dashboard (no Prometheus needed), so
// that a page opened now shows what happened before: per member its
// totals (messages per second, mailboxes, restarts, dead letters), per
// direct link its messages and bytes per second, and per actor its rate
// and mailbox for a bounded set of actors: those a viewer opened, and
// the busiest (top by rate and by mailbox) of each sample.
//
// Memory: a ring holds at most `points` points, allocated at its first
// point: a member's is 32 bytes a point, a link's and an actor's 16. With
// the defaults (900 points: 15 minutes at one sample a second, 64
// actors) that is 29 kB a member, 14 kB a link and at most 0.9 MB for
// the actors, whatever the number of actors in the cluster (at 10,000
// actors as at 10); choosing the top costs one pass over the actors a
// sample.
//
// Thread safety: every member function locks; call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "dashboard/ring.hpp"

namespace troupe::wire {
class ClusterSnapshot;
} // namespace troupe::wire

namespace troupe::dashboard {

struct history_limits {
  /// How far back it keeps.
  int64_t window_ms = 15 * 60 * 1000;
  /// Points per ring: the window at the live view's period (1 s).
  size_t points = 900;
  /// Actors with a history at most (watched and top together).
  size_t max_actors = 64;
  /// Of each sample, the busiest this many by rate and by mailbox.
  size_t top = 10;
};

class history {
public:
  explicit history(history_limits limits = {});

  /// Records `snap`, taken at `now_ms` (Unix ms): a point per reachable
  /// member, per direct link (a rate from the previous sample's counts;
  /// none on the first), per tracked actor; then forgets what is older
  /// than the window and the actors beyond `max_actors` that were least
  /// recently watched or busy.
  void record(int64_t now_ms, const wire::ClusterSnapshot& snap);

  /// A viewer opened actor `key` ("<tree's node>:<path>") at `now_ms`:
  /// it gets a history from its next sample on, kept while it is watched
  /// or busy (and the window after).
  void watch(const std::string& key, int64_t now_ms);

  /// {"window_ms", "nodes": {name: series}, "links": {"<node>><peer>":
  /// series}}, each series columns of equal length: "ms" and one per
  /// figure (nodes: msgs_per_sec, mailbox, restarts, dead_letters; links:
  /// msgs_per_sec, bytes_per_sec). With `actors`, also "actors": {key:
  /// series (msgs_per_sec, mailbox)} of every tracked actor.
  nlohmann::json to_json(bool actors) const;

  /// {"key", "ms", "msgs_per_sec", "mailbox"}: empty columns when `key`
  /// has no history.
  nlohmann::json actor_json(const std::string& key) const;

  /// Actors with a history now.
  size_t tracked_actors() const;

  /// Bytes the rings hold.
  size_t heap_bytes() const;

  struct node_point {
    float msgs_per_sec;
    uint32_t mailbox;
    uint64_t restarts;
    uint64_t dead_letters;
  };
  struct link_point {
    float msgs_per_sec;
    float bytes_per_sec;
  };
  struct actor_point {
    float msgs_per_sec;
    uint32_t mailbox;
  };

private:
  struct link_entry {
    ring<link_point> points;
    int64_t last_ms = 0;
    uint64_t frames_out = 0;
    uint64_t bytes_out = 0;
  };
  struct actor_entry {
    ring<actor_point> points;
    /// When it was last watched or among the top.
    int64_t wanted_ms = 0;
  };

  void forget(int64_t now_ms);

  history_limits limits_;
  mutable std::mutex mtx_;
  std::map<std::string, ring<node_point>> nodes_;
  std::map<std::string, link_entry> links_;
  std::map<std::string, actor_entry> actors_;
};

} // namespace troupe::dashboard
