// SPDX-License-Identifier: Apache-2.0
#include "dashboard/http_session.hpp"

#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "dashboard/api.hpp"
#include "dashboard/sse_session.hpp"

namespace troupe::dashboard {

namespace asio = boost::asio;
namespace beast = boost::beast;

template <class Stream>
http_session<Stream>::http_session(Stream stream, connection_slot slot)
  : stream_(std::move(stream)),
    slot_(std::move(slot)),
    // Headers and body both fit; beyond, the parser's limits answer first.
    buffer_(slot_.get().cfg.max_header_bytes + slot_.get().cfg.max_body_bytes
            + 4096) {
}

template <class Stream>
void http_session<Stream>::start() {
  read();
}

template <class Stream>
void http_session<Stream>::read() {
  auto& cfg = slot_.get().cfg;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(cfg.max_header_bytes));
  parser_->body_limit(cfg.max_body_bytes);
  // One deadline for the whole request: a client that trickles bytes
  // (slow loris) or idles on a kept-alive connection is dropped after it.
  tcp_of(stream_).expires_after(cfg.read_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   [self = this->shared_from_this()](beast::error_code ec, size_t) {
                     self->on_read(ec);
                   });
}

template <class Stream>
void http_session<Stream>::on_read(beast::error_code ec) {
  static const auto& http_errors
    = http::make_error_code(http::error::bad_target).category();
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
    return refuse(http::status::request_header_fields_too_large,
                  "request headers too large");
  if (ec == http::error::body_limit)
    return refuse(http::status::payload_too_large, "request body too large");
  if (ec && ec != http::error::end_of_stream && &ec.category() == &http_errors)
    return refuse(http::status::bad_request, "malformed request");
  if (ec) // closed, reset, or the read deadline passed
    return close();
  auto req = parser_->release();
  auto r = resolve(req.method_string(), req.target());
  if (r.kind == route_kind::events) {
    auto& h = slot_.get();
    if (h.viewers.load() >= h.cfg.max_viewers)
      return send(make_response(http::status::service_unavailable,
                                "{\"error\":\"too many live views\"}\n",
                                "application/json", req));
    // Hand the stream to the view; this session ends here.
    tcp_of(stream_).expires_never();
    auto view = std::make_shared<sse_session<Stream>>(std::move(stream_),
                                                      std::move(slot_));
    view->start(std::string{req["Last-Event-ID"]});
    return;
  }
  answer(slot_.get(), r, req, [self = this->shared_from_this()](response res) {
    self->send(std::move(res));
  });
}

template <class Stream>
void http_session<Stream>::send(response res) {
  auto msg = std::make_shared<response>(std::move(res));
  tcp_of(stream_).expires_after(slot_.get().cfg.write_timeout);
  http::async_write(stream_, *msg,
                    [self = this->shared_from_this(), msg](beast::error_code ec,
                                                     size_t) {
                      if (ec)
                        return self->close();
                      if (!msg->keep_alive())
                        return self->linger();
                      self->read();
                    });
}

template <class Stream>
void http_session<Stream>::refuse(http::status status, const char* why) {
  // The request was not read to its end: answer and close.
  response res{status, 11};
  res.set(http::field::server, "troupe");
  res.set(http::field::content_type, "application/json");
  res.body() = std::string{"{\"error\":\""} + why + "\"}\n";
  res.keep_alive(false);
  res.prepare_payload();
  send(std::move(res));
}

template <class Stream>
void http_session<Stream>::linger() {
  // Closing a socket with unread bytes sends a reset, and the client may
  // lose the answer it has not read yet (a 431 to a request still being
  // sent). So: end our side, read and drop what the client still sends,
  // briefly, then close.
  beast::error_code ignored;
  tcp_of(stream_).socket().shutdown(asio::ip::tcp::socket::shutdown_send,
                                    ignored);
  tcp_of(stream_).expires_after(std::chrono::seconds{1});
  stream_.async_read_some(asio::buffer(discard_),
                          [self = this->shared_from_this()](beast::error_code ec,
                                                      size_t) {
                            if (ec)
                              return self->close();
                            self->linger();
                          });
}

template <class Stream>
void http_session<Stream>::close() {
  close_now(stream_);
}

template class http_session<plain_stream>;
template class http_session<tls_stream>;

} // namespace troupe::dashboard
