// SPDX-License-Identifier: Apache-2.0
// One HTTP connection, plain or TLS (streams.hpp): reads requests within
// the limits (header and body size, a deadline for the whole request),
// answers them through the API (api.hpp), keeps the connection for the
// next request, or hands the stream to an SSE view.
#pragma once

#include <array>
#include <memory>
#include <optional>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "dashboard/hub.hpp"
#include "dashboard/streams.hpp"

namespace troupe::dashboard {

namespace http = boost::beast::http;

using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

/// Instantiated for `plain_stream` and `tls_stream` (a TLS stream whose
/// handshake is done), in http_session.cpp.
template <class Stream>
class http_session
  : public std::enable_shared_from_this<http_session<Stream>> {
public:
  http_session(Stream stream, connection_slot slot);

  void start();

private:
  void read();
  void on_read(boost::beast::error_code ec);
  void send(response res);
  void refuse(http::status status, const char* why);
  void linger();
  void close();

  Stream stream_;
  connection_slot slot_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::array<char, 4096> discard_;
};

extern template class http_session<plain_stream>;
extern template class http_session<tls_stream>;

} // namespace troupe::dashboard
