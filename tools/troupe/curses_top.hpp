// SPDX-License-Identifier: Apache-2.0
#pragma once

// `troupe top`: the curses screen around the pure view of troupe_tool
// (include/troupe/tool/top.hpp). Part of the command, not of the library.

#include "troupe/tool/client.hpp"

namespace troupe::tool {

/// Shows the actors of the cluster behind `ep`, refreshed every second,
/// until `q` or a signal (SIGINT, SIGTERM, SIGHUP); the terminal is
/// restored either way. Each refresh is one `fetch_snapshot` bounded by
/// `opts.timeout`; a failed one is shown on the status line and retried.
/// Returns the exit code: 0 after `q`, 128+N after signal N, 2 when stdin
/// or stdout is not a terminal, 1 when curses cannot start.
int run_top(const endpoint& ep, const client_options& opts);

} // namespace troupe::tool
