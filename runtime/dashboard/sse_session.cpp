// SPDX-License-Identifier: Apache-2.0
#include "dashboard/sse_session.hpp"

#include <boost/asio/write.hpp>

namespace troupe::dashboard {

namespace asio = boost::asio;

void hub::broadcast() {
  // Drop the views that closed while at it.
  std::vector<std::weak_ptr<sse_session>> alive;
  alive.reserve(views.size());
  for (auto& w : views)
    if (auto s = w.lock()) {
      s->pump();
      alive.push_back(w);
    }
  views = std::move(alive);
}

sse_session::sse_session(asio::ip::tcp::socket sock, connection_slot slot)
  : sock_(std::move(sock)),
    slot_(std::move(slot)),
    timer_(sock_.get_executor()) {
}

sse_session::~sse_session() {
  if (counted_)
    --slot_.get().viewers;
}

void sse_session::start(const std::string& last_event_id) {
  auto& h = slot_.get();
  ++h.viewers;
  counted_ = true;
  h.views.push_back(weak_from_this());
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

void sse_session::pump() {
  if (writing_ || closed_)
    return; // on_write pumps again
  auto next = slot_.get().log.since(seen_);
  if (!next || next->frames.empty())
    return;
  seen_ = next->seq;
  write(std::move(next->frames));
}

void sse_session::write(std::string data) {
  writing_ = true;
  out_ = std::move(data);
  write_started_ = std::chrono::steady_clock::now();
  asio::async_write(sock_, asio::buffer(out_),
                    [self = shared_from_this()](
                      const boost::system::error_code& ec, size_t) {
                      self->writing_ = false;
                      self->last_write_ = std::chrono::steady_clock::now();
                      if (ec)
                        return self->close();
                      self->pump();
                    });
}

void sse_session::watch_reads() {
  // A viewer has nothing to say after its request: a read that completes
  // is the connection closing (or junk; either way the view ends).
  sock_.async_read_some(asio::buffer(discard_),
                        [self = shared_from_this()](
                          const boost::system::error_code&, size_t) {
                          self->close();
                        });
}

void sse_session::tick() {
  // One timer for both: a write stuck past the write timeout drops the
  // view; an idle view gets a comment every keepalive period.
  auto& cfg = slot_.get().cfg;
  auto period = std::min(cfg.keepalive, cfg.write_timeout) / 2;
  timer_.expires_after(std::max(period, std::chrono::milliseconds{10}));
  timer_.async_wait([self = shared_from_this()](
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

void sse_session::close() {
  if (closed_)
    return;
  closed_ = true;
  boost::system::error_code ignored;
  sock_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  sock_.close(ignored);
  timer_.cancel();
}

} // namespace troupe::dashboard
