// SPDX-License-Identifier: Apache-2.0
// One HTTP connection: reads requests within the limits (header and body
// size, a deadline for the whole request), answers them through the API
// (api.hpp), keeps the connection for the next request, or hands the
// socket to an SSE view.
#pragma once

#include <array>
#include <memory>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "dashboard/hub.hpp"

namespace troupe::dashboard {

namespace http = boost::beast::http;

using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

class http_session : public std::enable_shared_from_this<http_session> {
public:
  http_session(boost::asio::ip::tcp::socket sock, connection_slot slot);

  void start();

private:
  void read();
  void on_read(boost::beast::error_code ec);
  void send(response res);
  void refuse(http::status status, const char* why);
  void linger();
  void close();

  boost::beast::tcp_stream stream_;
  connection_slot slot_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::array<char, 4096> discard_;
};

} // namespace troupe::dashboard
