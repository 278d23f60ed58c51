// SPDX-License-Identifier: Apache-2.0
// HTTP/1.1 POSTs on Beast, each on its own io_context run by the calling
// thread in short slices, so that a deadline or a cancel ends it promptly.
#include "cluster/etcd/http.hpp"

#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

namespace troupe::cluster::etcd {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

// How often a pending operation looks at its deadline and cancel function.
constexpr auto poll_interval = std::chrono::milliseconds{50};

// One connection to one endpoint, driven on the calling thread.
class exchange {
public:
  exchange(const endpoint& ep, clock::time_point deadline,
           const cancel_fn& cancel)
      : ep_(ep)
      , deadline_(deadline)
      , cancel_(cancel)
      , resolver_(ioc_)
      , stream_(ioc_) {}

  // Connects, sends the request and reads the answer's header.
  std::optional<error> open(const std::string& target,
                            const std::string& body) {
    bool done = false;
    error_code ec;
    std::vector<tcp::endpoint> addrs;
    error_code parse_ec;
    auto literal = asio::ip::make_address(ep_.host, parse_ec);
    if (!parse_ec) {
      addrs.emplace_back(literal, ep_.port);
    } else {
      resolver_.async_resolve(ep_.host, std::to_string(ep_.port),
                              [&](error_code e, tcp::resolver::results_type r) {
                                ec = e;
                                for (auto& x : r)
                                  addrs.push_back(x.endpoint());
                                done = true;
                              });
      run(done);
      if (ec)
        return failure(ec, "resolve");
    }
    done = false;
    stream_.async_connect(addrs, [&](error_code e, const tcp::endpoint&) {
      ec = e;
      done = true;
    });
    run(done);
    if (ec)
      return failure(ec, "connect");
    http::request<http::string_body> req{http::verb::post, target, 11};
    req.set(http::field::host, to_string(ep_));
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    done = false;
    http::async_write(stream_, req, [&](error_code e, size_t) {
      ec = e;
      done = true;
    });
    run(done);
    if (ec)
      return failure(ec, "send");
    // The callers bound what they keep of a body; a watch's has no end.
    parser_.body_limit(boost::none);
    done = false;
    http::async_read_header(stream_, buf_, parser_, [&](error_code e, size_t) {
      ec = e;
      done = true;
    });
    run(done);
    if (ec)
      return failure(ec, "answer");
    return std::nullopt;
  }

  unsigned status() const {
    return parser_.get().result_int();
  }

  bool complete() const {
    return parser_.is_done();
  }

  // From now on only cancel() ends a read.
  void drop_deadline() {
    deadline_ = clock::time_point::max();
  }

  // Reads more of the body into `data`; returns how much.
  result<size_t> read_some(char* data, size_t size) {
    auto& body = parser_.get().body();
    body.data = data;
    body.size = size;
    body.more = true;
    bool done = false;
    error_code ec;
    http::async_read_some(stream_, buf_, parser_, [&](error_code e, size_t) {
      ec = e;
      done = true;
    });
    run(done);
    if (ec == http::error::need_buffer)
      ec = {};
    if (ec)
      return failure(ec, "answer");
    return size - body.size;
  }

  std::string where() const {
    return to_string(ep_);
  }

private:
  // Runs the I/O until `done`, cancelling the pending operation on cancel()
  // or at the deadline (its handler then runs with operation_aborted). Once
  // cancelled, every later operation is cancelled too: one that completed
  // in the same slice as the cancel must not leave the next one waiting.
  void run(const bool& done) {
    ioc_.restart();
    while (!done) {
      if (!cancelled_ && !expired_) {
        if (cancel_ && cancel_())
          cancelled_ = true;
        else if (clock::now() >= deadline_)
          expired_ = true;
      }
      if (cancelled_ || expired_) {
        resolver_.cancel();
        stream_.cancel();
      }
      ioc_.run_one_for(poll_interval);
    }
  }

  error failure(const error_code& ec, std::string_view what) {
    auto where = to_string(ep_);
    if (cancelled_)
      return {errc::cancelled, fmt::format("{}: cancelled", where)};
    if (expired_)
      return {errc::timeout, fmt::format("{}: no {} in time", where, what)};
    if (ec == http::error::end_of_stream || ec == http::error::partial_message)
      return {errc::unreachable,
              fmt::format("{}: connection closed during the {}", where, what)};
    if (ec.category() ==
        http::make_error_code(http::error::bad_version).category())
      return {errc::bad_response,
              fmt::format("{}: not an HTTP answer ({})", where, ec.message())};
    return {errc::unreachable,
            fmt::format("{}: {}: {}", where, what, ec.message())};
  }

  endpoint ep_;
  clock::time_point deadline_;
  const cancel_fn& cancel_;
  asio::io_context ioc_{1};
  tcp::resolver resolver_;
  beast::tcp_stream stream_;
  beast::flat_buffer buf_;
  http::response_parser<http::buffer_body> parser_;
  bool cancelled_ = false;
  bool expired_ = false;
};

constexpr size_t read_size = 8192;

} // namespace

std::string to_string(const endpoint& x) {
  return fmt::format("{}:{}", x.host, x.port);
}

result<http_reply> http_post(const endpoint& ep, const std::string& target,
                             const std::string& body,
                             clock::time_point deadline,
                             const cancel_fn& cancel, size_t max_body) {
  exchange x{ep, deadline, cancel};
  if (auto err = x.open(target, body))
    return *err;
  http_reply out;
  out.status = x.status();
  char buf[read_size];
  while (!x.complete()) {
    auto n = x.read_some(buf, sizeof(buf));
    if (!n)
      return n.err();
    out.body.append(buf, *n);
    if (out.body.size() > max_body)
      return error{
          errc::bad_response,
          fmt::format("{}: answer larger than {} bytes", x.where(), max_body)};
  }
  return out;
}

result<done> http_stream(const endpoint& ep, const std::string& target,
                         const std::string& body, clock::time_point deadline,
                         const std::function<bool(std::string_view)>& on_line,
                         const cancel_fn& cancel, size_t max_line) {
  exchange x{ep, deadline, cancel};
  if (auto err = x.open(target, body))
    return *err;
  if (x.status() != 200)
    return error{errc::rejected, fmt::format("{}: HTTP {} for {}", x.where(),
                                             x.status(), target)};
  x.drop_deadline();
  std::string line;
  // Hands over the line, without a trailing CR; blank lines are skipped.
  auto deliver = [&] {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    bool more = line.empty() || on_line(line);
    line.clear();
    return more;
  };
  char buf[read_size];
  while (!x.complete()) {
    auto n = x.read_some(buf, sizeof(buf));
    if (!n)
      return n.err();
    std::string_view chunk{buf, *n};
    for (auto pos = chunk.find('\n'); pos != std::string_view::npos;
         pos = chunk.find('\n')) {
      line.append(chunk.substr(0, pos));
      chunk.remove_prefix(pos + 1);
      if (!deliver())
        return done{};
    }
    line.append(chunk);
    if (line.size() > max_line)
      return error{errc::bad_response,
                   fmt::format("{}: a streamed message longer than {} bytes",
                               x.where(), max_line)};
  }
  if (!deliver())
    return done{};
  return error{errc::unreachable,
               fmt::format("{}: etcd ended the stream", x.where())};
}

} // namespace troupe::cluster::etcd
