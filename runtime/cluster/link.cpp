// SPDX-License-Identifier: Apache-2.0
// The direct links' owner: listening, opening and closing links, stopping.
// The jobs are elsewhere (see link.hpp): link_writer.cpp, link_dialer.cpp,
// link_reader.cpp, link_loop.cpp.
#include "cluster/link.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <tuple>

#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <fmt/format.h>

#include "cluster/core.hpp"
#include "cluster/link_detail.hpp"
#include "cluster/link_loop.hpp"
#include "troupe/error.hpp"
#include "troupe/log.hpp"
#include "wire/config_base.hpp"
#include "transport/endpoint.hpp"

namespace troupe::cluster {

namespace {

// Each layer's serial: unique in the process (see link_writer.cpp).
std::atomic<uint64_t> next_layer_serial{0};

/// A listening socket on `host` (OS-chosen port), non-blocking, and that
/// port.
caf::expected<std::pair<int, uint16_t>> listen_on(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  if (auto rc = ::getaddrinfo(host.c_str(), "0", &hints, &res); rc != 0)
    return make_error(errc::bad_config,
                      fmt::format("direct links: cannot resolve '{}': {}",
                                  host, ::gai_strerror(rc)));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard{res,
                                                             ::freeaddrinfo};
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return make_error(errc::bad_config, "direct links: socket() failed");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, res->ai_addr, res->ai_addrlen) != 0 || ::listen(fd, 64) != 0) {
    auto why = std::string{std::strerror(errno)};
    ::close(fd);
    return make_error(errc::bad_config,
                      fmt::format("direct links: cannot listen on {}: {}",
                                  host, why));
  }
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  auto port = ntohs(addr.ss_family == AF_INET
                      ? reinterpret_cast<sockaddr_in*>(&addr)->sin_port
                      : reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return std::pair{fd, static_cast<uint16_t>(port)};
}

} // namespace

// -- out_link ------------------------------------------------------------------

out_link::out_link(caf::node_id p, std::string h, uint16_t pt)
  : peer(std::move(p)), host(std::move(h)), port(pt) {
}

// -- link_layer ----------------------------------------------------------------

transport::ssl_ptr link_layer::new_tls_session() {
  // A context of its own, as CAF's openssl module makes one per session:
  // OpenSSL fills some caches of shared certificates lazily (a name's
  // canonical encoding), and TSan saw that race between two links' threads
  // sharing one context. The session holds its context.
  auto ctx = transport::make_tls_context(cfg_.tls, "direct links");
  if (!ctx) {
    log(log_level::warn, describe(ctx.error()));
    return nullptr;
  }
  return transport::ssl_ptr{SSL_new(ctx->get())};
}

link_layer::link_layer(caf::actor_system& sys, std::weak_ptr<core> c,
                       link_settings cfg)
  : sys_(sys), serial_(++next_layer_serial), core_(std::move(c)), cfg_(cfg) {
  detail::cork_flush.store(&link_layer::flush_corked,
                           std::memory_order_release);
}

link_layer::~link_layer() {
  stop();
}

caf::error link_layer::start(const std::string& host) {
  host_ = host;
  if (cfg_.tls.enabled()) {
    // Checked once here, so that bad files are a startup error.
    if (auto ctx = transport::make_tls_context(cfg_.tls, "direct links");
        !ctx)
      return std::move(ctx.error());
    tls_ = true;
    cfg_.secret.clear(); // TLS authenticates (as on BASP)
  }
  types_ = wire::detail::registry_of(sys_.dummy_execution_unit());
  if (auto c = core_.lock(); c && c->net)
    cuts_ = c->net->cuts();
  auto basp = sys_.middleman().named_broker<caf::io::basp_broker>(
    caf::atom("BASP"));
  if (basp)
    proxies_ = static_cast<caf::io::basp_broker*>(
                 caf::actor_cast<caf::abstract_actor*>(basp))
                 ->proxy_registry_ptr();
  auto listening = listen_on(host);
  if (!listening)
    return std::move(listening.error());
  std::tie(listen_fd_, port_) = *listening;
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  loop_ = std::make_unique<link_loop>(cfg_.readers, cfg_.spin);
  if (!loop_->start())
    return make_error(errc::bad_config, "direct links: no reader threads");
  poller_ = std::thread{[this] { poll_loop(); }};
  return caf::none;
}

void link_layer::stop() {
  if (stopping_.exchange(true))
    return;
  wake();
  if (poller_.joinable())
    poller_.join();
  std::vector<std::shared_ptr<out_link>> outs;
  std::vector<std::shared_ptr<in_link>> ins;
  {
    std::lock_guard<std::shared_mutex> guard{mtx_};
    for (auto& kvp : out_)
      outs.push_back(kvp.second);
    out_.clear();
    for (auto& in : in_)
      if (!in->closed.exchange(true))
        ::shutdown(in->fd, SHUT_RDWR);
    ins.swap(in_);
  }
  for (auto& l : outs) {
    std::lock_guard<std::mutex> guard{l->mtx};
    close_locked(*l);
  }
  for (auto& in : ins)
    if (in->thread.joinable())
      in->thread.join();
  // After the handshakes: none hands a link over any more.
  if (loop_)
    loop_->stop();
  if (listen_fd_ >= 0)
    ::close(listen_fd_);
  if (wake_fd_ >= 0)
    ::close(wake_fd_);
  listen_fd_ = wake_fd_ = -1;
}

void link_layer::wake() {
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    auto n = ::write(wake_fd_, &one, sizeof(one));
    (void) n;
  }
}

void link_layer::learn(const caf::node_id& nid, const std::string& host,
                       uint16_t port) {
  if (stopping_ || port == 0 || nid == sys_.node())
    return;
  std::lock_guard<std::shared_mutex> guard{mtx_};
  known_[nid] = {host, port};
}

std::shared_ptr<out_link> link_layer::find_or_dial(const caf::node_id& nid) {
  std::pair<std::string, uint16_t> where;
  {
    std::shared_lock<std::shared_mutex> guard{mtx_};
    if (auto i = out_.find(nid); i != out_.end())
      return i->second;
    auto i = known_.find(nid);
    if (i == known_.end())
      return nullptr;
    where = i->second;
  }
  open(nid, where.first, where.second);
  return find(nid);
}

void link_layer::open(const caf::node_id& nid, const std::string& host,
                      uint16_t port) {
  if (stopping_ || port == 0 || nid == sys_.node())
    return;
  {
    std::lock_guard<std::shared_mutex> guard{mtx_};
    known_[nid] = {host, port};
    auto& slot = out_[nid];
    if (slot) {
      std::lock_guard<std::mutex> lguard{slot->mtx};
      if (slot->st != out_link::state::closed)
        return;
    }
    slot = std::make_shared<out_link>(nid, host, port);
  }
  wake();
}

void link_layer::close(const caf::node_id& nid) {
  std::shared_ptr<out_link> l;
  {
    std::lock_guard<std::shared_mutex> guard{mtx_};
    known_.erase(nid);
    auto i = out_.find(nid);
    if (i != out_.end()) {
      l = i->second;
      out_.erase(i);
    }
    for (auto& in : in_)
      if (in->peer == nid && !in->closed.exchange(true))
        ::shutdown(in->fd, SHUT_RDWR);
  }
  if (l) {
    std::lock_guard<std::mutex> guard{l->mtx};
    close_locked(*l);
  }
  wake();
}

std::shared_ptr<out_link> link_layer::find(const caf::node_id& nid) const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  auto i = out_.find(nid);
  return i != out_.end() ? i->second : nullptr;
}

} // namespace troupe::cluster
