// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the files of the direct links (link.cpp, link_writer.cpp,
// link_dialer.cpp, link_reader.cpp) share and nobody else needs.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <thread>

#include <caf/node_id.hpp>

#include "cluster/link.hpp"
#include "transport/tls_socket.hpp"

namespace troupe::cluster {

namespace link_detail {

using steady = std::chrono::steady_clock;

/// A dialed link's handshake (TLS, challenge, hello, answer) and an
/// accepted one's each get this long.
constexpr auto handshake_timeout = std::chrono::seconds{2};
/// A link that failed is dialed again after this long.
constexpr auto redial_delay = std::chrono::milliseconds{100};

/// Set in a link's reader thread: it never waits for room on a link (two
/// busy nodes would deadlock). Defined in link_reader.cpp.
extern thread_local bool tl_reader;

/// Marks the calling thread as a link reader: `tl_reader`, and a thread of
/// the runtime, which never runs an actor for a requester
/// (actor/inline_run.hpp). Defined in link_reader.cpp.
void mark_reader_thread() noexcept;

} // namespace link_detail

/// An incoming connection: its handshake on a thread of its own, then read
/// by a thread of the layer's loop (link_reader.cpp, link_loop.cpp).
struct link_layer::in_link {
  int fd = -1;
  transport::ssl_ptr ssl; // under TLS; the reader's
  // Set once by the reader after the handshake, under link_layer::mtx_, so
  // that close() (which reads it under mtx_ from any thread) sees it whole.
  caf::node_id peer;
  // Frames delivered and bytes read (length prefixes included, as the
  // writer counts them), added by the reader once per read.
  std::atomic<uint64_t> frames{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<bool> closed{false};
  std::atomic<bool> done{false};
  std::thread thread; // the handshake's (joined once `done`)
};

} // namespace troupe::cluster
