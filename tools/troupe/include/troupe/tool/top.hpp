// SPDX-License-Identifier: Apache-2.0
#pragma once

// `troupe top`: what one refresh of the live view shows, as plain text. The
// curses loop (tools/troupe/top.cpp) only fetches, draws these lines and
// maps keys; everything here is pure and tested (tests/tools/top_test.cpp).

#include <cstdint>
#include <string>
#include <vector>

#include "troupe/wire/introspect.pb.h"

namespace troupe::tool {

/// What `troupe top` sorts its rows by, the busiest first.
enum class top_sort : uint8_t {
  /// Messages waiting, then messages per second.
  mailbox,
  /// Messages per second, then messages waiting.
  rate,
};

/// Its name in the header: `"mailbox"`, `"rate"`.
std::string to_string(top_sort x);

/// One actor of the cluster, where it runs.
struct top_row {
  /// The node it runs on (a remote child runs on another node than its
  /// supervisor's, whose tree lists it).
  std::string node;
  /// Its supervision path (on its supervisor's node).
  std::string path;
  std::string type;
  wire::ActorInfo::Status status = wire::ActorInfo::RUNNING;
  uint64_t restarts = 0;
  uint64_t mailbox = 0;
  double msgs_per_sec = 0;
};

/// Every actor of `snap`, one row each, sorted by `by` (descending); ties
/// go by node, then path, so that rows do not jump between refreshes.
std::vector<top_row> top_rows(const wire::ClusterSnapshot& snap, top_sort by);

/// One refresh of `troupe top`, line by line. Lines are not cut to the
/// terminal's width: the screen does that.
struct top_screen {
  /// `cluster via n1: 3 nodes (1 unreachable: n3), 10 actors  sort: mailbox`
  std::string header;
  /// Column titles, aligned with `rows`.
  std::string columns;
  std::vector<std::string> rows;
};

/// Renders `snap` sorted by `by`.
top_screen render_top(const wire::ClusterSnapshot& snap, top_sort by);

/// What a key does in `troupe top`.
enum class top_action : uint8_t {
  none,
  sort_by_mailbox, // `m`
  sort_by_rate,    // `r`
  quit,            // `q`, or Ctrl-C read as a key
};

/// The action of `key`, a character as the terminal reads it (curses' key
/// codes, such as a resize, do nothing).
top_action top_key(int key);

/// The line under the table: the keys, or why the last refresh failed
/// (`error`, one line; the table then shows the last snapshot that came).
std::string top_status(const std::string& error);

} // namespace troupe::tool
