// SPDX-License-Identifier: Apache-2.0
#include "dashboard/sse_session.hpp"

#include <boost/asio/write.hpp>

namespace troupe::dashboard {

namespace asio = boost::asio;

void hub::broadcast() {
  // Drop the views that closed while at it.
  std::vector<std::weak_ptr<live_view>> alive;
  alive.reserve(views.size());
  for (auto& w : views)
    if (auto s = w.lock()) {
      s->pump();
      alive.push_back(w);
    }
  views = std::move(alive);
}

template <class Stream>
sse_session<Stream>::sse_session(Stream stream, connection_slot slot)
  : stream_(std::move(stream)),
    slot_(std::move(slot)),
    timer_(stream_.get_executor()) {
}

template <class Stream>
sse_session<Stream>::~sse_session() {
  if (counted_)
    --slot_.get().viewers;
}

template <class Stream>
void sse_session<Stream>::start(const std::string& last_event_id) {
  auto& h = slot_.get();
  ++h.viewers;
  counted_ = true;
  h.views.push_back(std::weak_ptr<live_view>{this->shared_from_this()});
  seen_ = h.log.parse_id(last_event_id);
  // `retry`: how long a browser's EventSource waits before it reconnects
  // (with Last-Event-ID) after the connection drops.
  write("HTTP/1.1 200 OK\r\n"
        "Content-Type: text/event-stream\r\n"
        "Cache-Control: no-store\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "Connection: close\r\n"
        "\r\n"
        "retry: 2000\n\n");
  watch_reads();
  tick();
  if (h.on_view_opened)
    h.on_view_opened();
}

template <class Stream>
void sse_session<Stream>::pump() {
  if (writing_ || closed_)
    return; // on_write pumps again
  auto next = slot_.get().log.since(seen_);
  if (!next || next->frames.empty())
    return;
  seen_ = next->seq;
  write(std::move(next->frames));
}

template <class Stream>
void sse_session<Stream>::write(std::string data) {
  writing_ = true;
  out_ = std::move(data);
  write_started_ = std::chrono::steady_clock::now();
  asio::async_write(stream_, asio::buffer(out_),
                    [self = this->shared_from_this()](
                      const boost::system::error_code& ec, size_t) {
                      self->writing_ = false;
                      self->last_write_ = std::chrono::steady_clock::now();
                      if (ec)
                        return self->close();
                      self->pump();
                    });
}

template <class Stream>
void sse_session<Stream>::watch_reads() {
  // A viewer has nothing to say after its request: a read that completes
  // is the connection closing (or junk; either way the view ends).
  stream_.async_read_some(asio::buffer(discard_),
                        [self = this->shared_from_this()](
                          const boost::system::error_code&, size_t) {
                          self->close();
                        });
}

template <class Stream>
void sse_session<Stream>::tick() {
  // One timer for both: a write stuck past the write timeout drops the
  // view; an idle view gets a comment every keepalive period.
  auto& cfg = slot_.get().cfg;
  auto period = std::min(cfg.keepalive, cfg.write_timeout) / 2;
  timer_.expires_after(std::max(period, std::chrono::milliseconds{10}));
  timer_.async_wait([self = this->shared_from_this()](
                      const boost::system::error_code& ec) {
    if (ec || self->closed_)
      return;
    auto now = std::chrono::steady_clock::now();
    auto& cfg = self->slot_.get().cfg;
    if (self->writing_ && now - self->write_started_ > cfg.write_timeout)
      return self->close();
    if (!self->writing_ && now - self->last_write_ >= cfg.keepalive)
      self->write(": keepalive\n\n");
    self->tick();
  });
}

template <class Stream>
void sse_session<Stream>::close() {
  if (closed_)
    return;
  closed_ = true;
  close_now(stream_);
  timer_.cancel();
}

template class sse_session<plain_stream>;
template class sse_session<tls_stream>;

} // namespace troupe::dashboard
