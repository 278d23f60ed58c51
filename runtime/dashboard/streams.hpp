// SPDX-License-Identifier: Apache-2.0
// The two kinds of connection the dashboard serves, plain HTTP and HTTPS
// (when the node runs TLS), and what differs between them; the sessions
// (http_session, sse_session) are written once over either.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace troupe::dashboard {

using plain_stream = boost::beast::tcp_stream;
using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

/// The TCP stream under `s` (for deadlines and closing).
template <class Stream>
boost::beast::tcp_stream& tcp_of(Stream& s) {
  return boost::beast::get_lowest_layer(s);
}

/// Ends the connection now: no TLS close_notify (the answers carry their
/// length, so a client knows it has them whole), both directions shut,
/// the socket closed.
template <class Stream>
void close_now(Stream& s) {
  boost::system::error_code ignored;
  tcp_of(s).socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both,
                              ignored);
  tcp_of(s).close();
}

} // namespace troupe::dashboard
