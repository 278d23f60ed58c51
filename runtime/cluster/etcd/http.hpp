// SPDX-License-Identifier: Apache-2.0
// The HTTP/1.1 POSTs the etcd client makes: one answer, or a stream of
// lines; each bounded in time and cancellable from the calling thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "cluster/etcd/result.hpp"

namespace troupe::cluster::etcd {

/// An etcd client endpoint.
struct endpoint {
  std::string host;
  uint16_t port = 0;
};

/// `host:port`.
std::string to_string(const endpoint& x);

/// Polled every 50 ms during a call: true makes the call
/// end at once with `errc::cancelled`. May be empty.
using cancel_fn = std::function<bool()>;

using clock = std::chrono::steady_clock;

/// A whole answer.
struct http_reply {
  unsigned status = 0;
  std::string body;
};

/// POSTs `body` (JSON) to `target` and reads the whole answer, of at most
/// `max_body` bytes, by `deadline`. One connection per call.
result<http_reply> http_post(const endpoint& ep, const std::string& target,
                             const std::string& body,
                             clock::time_point deadline,
                             const cancel_fn& cancel, size_t max_body);

/// POSTs `body` and hands each line of the answer (status 200 only; etcd's
/// gateway ends each message of a stream with a newline) to `on_line`,
/// until it returns false (then `done`), the peer ends the stream
/// (`errc::unreachable`), a line exceeds `max_line` bytes, or `cancel`.
/// `deadline` bounds the connection and the answer's header only: a stream
/// may then stay quiet for as long as its caller lets it.
result<done> http_stream(const endpoint& ep, const std::string& target,
                         const std::string& body, clock::time_point deadline,
                         const std::function<bool(std::string_view)>& on_line,
                         const cancel_fn& cancel, size_t max_line);

} // namespace troupe::cluster::etcd
