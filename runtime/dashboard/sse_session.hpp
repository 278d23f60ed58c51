// SPDX-License-Identifier: Apache-2.0
// One live view (GET /api/events): Server-Sent Events on the connection's
// stream, plain or TLS (streams.hpp).
// First the full state (or, with a `Last-Event-ID` the log still covers,
// only the deltas missed), then each delta as the sampler records it. A
// view has at most one write in flight and reads from the log when it is
// done, so a slow viewer costs no queue: when it falls behind the log it
// gets the full state again; one that does not read at all is dropped
// after the write timeout.
#pragma once

#include <array>
#include <memory>
#include <string>

#include <boost/asio/steady_timer.hpp>

#include "dashboard/hub.hpp"
#include "dashboard/streams.hpp"

namespace troupe::dashboard {

/// Instantiated for `plain_stream` and `tls_stream`, in sse_session.cpp.
template <class Stream>
class sse_session : public live_view,
                    public std::enable_shared_from_this<sse_session<Stream>> {
public:
  sse_session(Stream stream, connection_slot slot);
  ~sse_session() override;

  /// Sends the headers and what the viewer needs, and registers the view
  /// (I/O thread). `last_event_id`: the request's header, maybe empty.
  void start(const std::string& last_event_id);

  /// Sends what the log has beyond what this view has seen (I/O thread).
  void pump() override;

  void close();

private:
  void write(std::string data);
  void watch_reads();
  void tick();

  Stream stream_;
  connection_slot slot_;
  boost::asio::steady_timer timer_;
  uint64_t seen_ = 0;
  std::string out_;
  bool writing_ = false;
  bool closed_ = false;
  bool counted_ = false;
  std::chrono::steady_clock::time_point write_started_{};
  std::chrono::steady_clock::time_point last_write_{};
  std::array<char, 512> discard_{};
};

extern template class sse_session<plain_stream>;
extern template class sse_session<tls_stream>;

} // namespace troupe::dashboard
