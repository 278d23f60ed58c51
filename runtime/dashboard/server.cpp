// SPDX-License-Identifier: Apache-2.0
#include "dashboard/server.hpp"

#include <optional>
#include <stdexcept>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "dashboard/http_session.hpp"
#include "dashboard/hub.hpp"
#include "dashboard/sampler.hpp"
#include "troupe/node/node.hpp"

namespace troupe::dashboard {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace ssl = asio::ssl;

ssl::context tls_context(const settings& cfg) {
  ssl::context ctx{ssl::context::tls_server};
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2
                  | ssl::context::no_sslv3 | ssl::context::no_tlsv1
                  | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(cfg.tls_cert, ec);
  if (ec)
    throw std::runtime_error("cannot read the TLS certificate '"
                             + cfg.tls_cert + "': " + ec.message());
  ctx.use_private_key_file(cfg.tls_key, ssl::context::pem, ec);
  if (ec)
    throw std::runtime_error("cannot read the TLS key '" + cfg.tls_key
                             + "': " + ec.message());
  return ctx;
}

// Members in teardown order, last first: the sampler's timer goes before
// the worker's context, jobs the worker never ran (holding sessions) go
// before the I/O context their sockets belong to, and that one last; the
// TLS context after every stream that uses it.
struct server::impl {
  std::optional<ssl::context> tls;
  asio::io_context io;
  asio::io_context worker;
  std::shared_ptr<hub> shared;
  std::unique_ptr<sampler> sampling;
  tcp::acceptor acceptor{io};
  std::thread io_thread;
  std::thread worker_thread;

  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec,
                                 tcp::socket sock) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open())
        return;
      if (!ec) {
        ++shared->accepted;
        if (shared->connections.load() >= shared->cfg.max_connections) {
          // Over the cap: closed as it arrives, before reading a byte.
          ++shared->refused;
          boost::system::error_code ignored;
          sock.close(ignored);
        } else if (tls) {
          handshake(std::move(sock));
        } else {
          std::make_shared<http_session<plain_stream>>(
            plain_stream{std::move(sock)}, connection_slot{shared})
            ->start();
        }
      }
      // Errors such as EMFILE: keep accepting (the next one may succeed).
      accept();
    });
  }

  // The TLS handshake within the read timeout, then HTTP over it; a
  // client that does not speak TLS (a plain HTTP request) is closed.
  void handshake(tcp::socket sock) {
    auto stream = std::make_shared<tls_stream>(std::move(sock), *tls);
    tcp_of(*stream).expires_after(shared->cfg.read_timeout);
    stream->async_handshake(
      ssl::stream_base::server,
      [stream, slot = connection_slot{shared}](
        boost::system::error_code ec) mutable {
        if (ec) {
          ++slot.get().tls_refused;
          return close_now(*stream);
        }
        std::make_shared<http_session<tls_stream>>(std::move(*stream),
                                                   std::move(slot))
          ->start();
      });
  }
};

server::server(node& owner, settings cfg) : impl_(std::make_unique<impl>()) {
  auto& d = *impl_;
  auto host = cfg.host;
  auto port = cfg.port;
  if (!cfg.tls_cert.empty() || !cfg.tls_key.empty()) {
    d.tls.emplace(tls_context(cfg));
    tls_ = true;
  }
  d.shared = std::make_shared<hub>(owner, std::move(cfg), d.io, d.worker);
  d.sampling = std::make_unique<sampler>(d.shared);
  d.shared->on_view_opened = [s = d.sampling.get()] { s->kick(); };
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec)
    throw std::runtime_error("bad address '" + host + "': " + ec.message());
  tcp::endpoint ep{addr, port};
  d.acceptor.open(ep.protocol(), ec);
  if (!ec)
    d.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec)
    d.acceptor.bind(ep, ec);
  if (!ec)
    d.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error(ec.message());
  port_ = d.acceptor.local_endpoint().port();
  d.accept();
  d.io_thread = std::thread{[&d] { d.io.run(); }};
  d.worker_thread = std::thread{[&d] {
    auto guard = asio::make_work_guard(d.worker);
    d.worker.run();
  }};
  d.sampling->start();
}

server::~server() {
  stop();
}

uint16_t server::port() const noexcept {
  return port_;
}

bool server::tls() const noexcept {
  return tls_;
}

server_stats server::stats() const {
  if (!impl_)
    return {};
  auto& h = *impl_->shared;
  return {h.accepted.load(),        h.refused.load(),
          h.samples.load(),         h.history_samples.load(),
          h.viewers.load(),         h.tls_refused.load()};
}

void server::stop() {
  if (!impl_)
    return;
  auto& d = *impl_;
  // Both contexts stop at their next handler; the worker may be inside a
  // node call (bounded by snapshot_timeout). Sockets close as the
  // contexts' destructors destroy the sessions, in impl's member order.
  d.io.stop();
  d.worker.stop();
  if (d.io_thread.joinable())
    d.io_thread.join();
  if (d.worker_thread.joinable())
    d.worker_thread.join();
  d.shared->on_view_opened = nullptr;
  boost::system::error_code ignored;
  d.acceptor.close(ignored);
  impl_.reset();
}

} // namespace troupe::dashboard
