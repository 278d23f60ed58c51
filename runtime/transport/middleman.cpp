// SPDX-License-Identifier: Apache-2.0
// Puts the guard under CAF's BASP: a middleman actor whose connections (dialed
// and accepted) are streams with troupe's policy, in the way CAF's own openssl
// module puts TLS under BASP. Everything above the byte stream stays CAF's.

#include "transport/endpoint.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <future>
#include <optional>
#include <set>

#include <caf/detail/socket_guard.hpp>
#include <caf/function_view.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor_impl.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/doorman_impl.hpp>
#include <caf/io/network/stream_impl.hpp>
#include <caf/io/scribe.hpp>
#include <caf/openssl/session.hpp>
#include <caf/policy/tcp.hpp>
#include <fmt/format.h>
#include <openssl/err.h>

#include "transport/guarded_policy.hpp"
#include "troupe/error.hpp"
#include "troupe/log.hpp"

namespace troupe::transport {

namespace {

using caf::io::network::native_socket;
using caf::io::network::rw_state;
using detail::guarded_policy;
using detail::handshake_refused;
using mpx_type = caf::io::network::default_multiplexer;

// Set while a guarded stream hands input to the BASP broker.
thread_local bool tl_reading_guarded = false;

/// The BASP broker's exception handler: CAF would end the broker (and with
/// it every connection of the node) on an exception while it decodes a
/// peer's input. Rethrown, it reaches the guarded stream that read that
/// input, which closes only that connection.
caf::error basp_exception_handler(caf::scheduled_actor* self,
                                  std::exception_ptr& x) {
  if (tl_reading_guarded)
    std::rethrow_exception(x);
  return caf::scheduled_actor::default_exception_handler(self, x);
}

/// CAF's stream with troupe's policy. BASP decodes messages inside the
/// stream's read handler (on the multiplexer's thread: the node sets
/// `middleman.workers` to 0), where some malformed input makes CAF 0.17
/// throw (a config_value with an unknown type tag, found by fuzzing).
class guarded_stream : public caf::io::network::stream {
public:
  template <class... Ts>
  guarded_stream(mpx_type& mpx, native_socket fd, Ts&&... xs)
    : stream(mpx, fd), policy_(std::forward<Ts>(xs)...) {
  }

  void handle_event(caf::io::network::operation op) override {
    tl_reading_guarded = true;
    try {
      handle_event_impl(op, policy_);
    } catch (const std::exception& e) {
      policy_.poison(fd(), e.what());
    } catch (...) {
      policy_.poison(fd(), "an exception of unknown type");
    }
    tl_reading_guarded = false;
  }

private:
  guarded_policy policy_;
};

class guarded_scribe : public caf::io::scribe {
public:
  guarded_scribe(mpx_type& mpx, native_socket fd, std::shared_ptr<guard> g,
                 bool accepted, std::string peer,
                 caf::openssl::session_ptr tls)
    : scribe(caf::io::network::conn_hdl_from_socket(fd)),
      accepted_(accepted),
      stream_(mpx, fd, std::move(g), fd, accepted, std::move(peer),
              std::move(tls)) {
  }

  void configure_read(caf::io::receive_policy::config config) override {
    stream_.configure_read(config);
    if (!launched_) {
      launched_ = true;
      if (!accepted_)
        mark_seen_now();
      stream_.start(this);
      // Drives a TLS handshake that waits for a write (as CAF's openssl
      // scribe does); a plain stream just drops the empty write.
      stream_.force_empty_write(this);
    }
  }

  void ack_writes(bool enable) override {
    stream_.ack_writes(enable);
  }

  std::vector<char>& wr_buf() override {
    return stream_.wr_buf();
  }

  std::vector<char>& rd_buf() override {
    return stream_.rd_buf();
  }

  void graceful_shutdown() override {
    stream_.graceful_shutdown();
    detach(&stream_.backend(), false);
  }

  void flush() override {
    stream_.flush(this);
  }

  std::string addr() const override {
    auto x = caf::io::network::remote_addr_of_fd(stream_.fd());
    return x ? *x : std::string{};
  }

  uint16_t port() const override {
    auto x = caf::io::network::remote_port_of_fd(stream_.fd());
    return x ? *x : 0;
  }

  void add_to_loop() override {
    stream_.activate(this);
  }

  void remove_from_loop() override {
    // CAF 0.17.6's multiplexer squashes the changes to one socket within
    // one round: adding it for reading and removing it again before the
    // round ends leaves nothing to do, so the stream never hears
    // removed_from_loop(read) and its reader_ keeps this scribe alive for
    // good. Seen (LSan) when BASP's heartbeat closed a just-dialed
    // connection in the round that dialed it (see mark_seen_now); any close
    // in that round, e.g. while the node shuts down, is the same case.
    // When the read registration has not taken effect yet, release it here.
    caf::intrusive_ptr<guarded_scribe> keep{this};
    bool reading = (stream_.eventbf() & caf::io::network::input_mask) != 0;
    stream_.passivate();
    if (!reading)
      stream_.removed_from_loop(caf::io::network::operation::read);
  }

private:
  /// CAF 0.17.6's BASP broker makes the context of a connection it dials
  /// with a "last seen" time of zero (basp_broker.cpp, connect_atom), and
  /// its heartbeat tick closes every connection not seen within the
  /// connection timeout: a tick before the peer's handshake arrives
  /// closed the fresh connection ("connection_timeout"), so a dial over a
  /// link slower than one heartbeat interval always failed. BASP calls
  /// configure_read right after it made that context, on its own thread:
  /// the connection counts as seen when it was dialed.
  void mark_seen_now() {
    auto basp = dynamic_cast<caf::io::basp_broker*>(parent());
    if (basp == nullptr)
      return;
    auto i = basp->ctx.find(hdl());
    if (i != basp->ctx.end()
        && i->second.last_seen == caf::actor_clock::time_point{})
      i->second.last_seen = basp->clock().now();
  }

  bool accepted_;
  bool launched_ = false;
  guarded_stream stream_;
};

std::string peer_of(native_socket fd) {
  auto addr = caf::io::network::remote_addr_of_fd(fd);
  auto port = caf::io::network::remote_port_of_fd(fd);
  return fmt::format("{}:{}", addr ? *addr : "?", port ? *port : 0);
}

class guarded_doorman : public caf::io::network::doorman_impl {
public:
  guarded_doorman(mpx_type& mpx, native_socket fd, std::shared_ptr<guard> g)
    : doorman_impl(mpx, fd), guard_(std::move(g)) {
  }

  bool new_connection() override {
    if (detached())
      return false;
    auto& mpx = acceptor_.backend();
    auto fd = acceptor_.accepted_socket();
    caf::detail::socket_guard closer{fd};
    auto peer = peer_of(fd);
    if (guard_->cuts()->isolated())
      return false; // closed by `closer` (a test kit's kill, see cuts.hpp)
    if (!guard_->admit(peer))
      return false;
    caf::io::network::nonblocking(fd, true);
    caf::io::network::tcp_nodelay(fd, true);
    caf::openssl::session_ptr tls;
    if (guard_->settings().tls.enabled()) {
      ERR_clear_error();
      tls = caf::openssl::make_session(parent()->system(), fd, true);
      auto why = openssl_errors();
      if (!tls) {
        guard_->release();
        if (!tls_probe(why)) {
          guard_->count_tls_failure();
          log(log_level::warn,
              fmt::format("TLS handshake with {} failed: {}", peer, why));
        }
        return false;
      }
    }
    auto scribe = caf::make_counted<guarded_scribe>(mpx, fd, guard_, true,
                                                    std::move(peer),
                                                    std::move(tls));
    closer.release();
    auto hdl = scribe->hdl();
    parent()->add_scribe(std::move(scribe));
    return doorman::new_connection(&mpx, hdl);
  }

private:
  std::shared_ptr<guard> guard_;
};

class guarded_middleman : public caf::io::middleman_actor_impl {
public:
  guarded_middleman(caf::actor_config& cfg, caf::actor broker,
                    std::shared_ptr<guard> g)
    : middleman_actor_impl(cfg, std::move(broker)), guard_(std::move(g)) {
  }

  const char* name() const override {
    return "troupe.middleman";
  }

protected:
  caf::expected<caf::io::scribe_ptr> connect(const std::string& host,
                                             uint16_t port) override {
    if (guard_->cuts()->cuts(host, port))
      return make_error(errc::connect_failed,
                        fmt::format("{}:{} is cut off from this node (a "
                                    "test partition)",
                                    host, port));
    auto fd = caf::io::network::new_tcp_connection(host, port);
    if (!fd)
      return std::move(fd.error());
    caf::detail::socket_guard closer{*fd};
    caf::io::network::nonblocking(*fd, true);
    caf::io::network::tcp_nodelay(*fd, true);
    caf::openssl::session_ptr tls;
    if (guard_->settings().tls.enabled()) {
      ERR_clear_error();
      tls = caf::openssl::make_session(system(), *fd, false);
      auto why = openssl_errors();
      if (!tls) {
        // SSL_connect reads what the peer already sent: when the acceptor
        // answers fast, this end checks its certificate here, not later
        // in the stream. A refusal counts the same either way.
        auto peer = fmt::format("{}:{}", host, port);
        if (tls_probe(why))
          return make_error(errc::connect_failed,
                            fmt::format("{} closed the connection during the "
                                        "TLS handshake",
                                        peer));
        guard_->count_tls_failure();
        log(log_level::warn,
            fmt::format("TLS handshake with {} failed: {}", peer, why));
        return make_error(errc::connect_failed,
                          fmt::format("{}: {}", handshake_refused, why));
      }
    }
    closer.release();
    return caf::make_counted<guarded_scribe>(mpx(), *fd, guard_, false,
                                             fmt::format("{}:{}", host, port),
                                             std::move(tls));
  }

  caf::expected<caf::io::doorman_ptr> open(uint16_t port, const char* addr,
                                           bool reuse) override {
    auto fd = caf::io::network::new_tcp_acceptor_impl(port, addr, reuse);
    if (!fd)
      return std::move(fd.error());
    return caf::make_counted<guarded_doorman>(mpx(), *fd, guard_);
  }

private:
  mpx_type& mpx() {
    return static_cast<mpx_type&>(system().middleman().backend());
  }

  std::shared_ptr<guard> guard_;
};

} // namespace

endpoint::endpoint(caf::actor_system& sys, guard_settings cfg)
  : sys_(sys), guard_(std::make_shared<guard>(std::move(cfg))) {
  auto basp = sys.middleman().named_broker<caf::io::basp_broker>(
    caf::atom("BASP"));
  mm_ = sys.spawn<guarded_middleman, caf::detached + caf::hidden>(basp, guard_);
  // The broker runs on the multiplexer's thread: set its handler there.
  std::promise<void> done;
  sys.middleman().backend().dispatch([basp, &done] {
    auto ptr = static_cast<caf::io::basp_broker*>(
      caf::actor_cast<caf::abstract_actor*>(basp));
    ptr->set_exception_handler(basp_exception_handler);
    done.set_value();
  });
  done.get_future().wait();
}

endpoint::~endpoint() {
  stop();
}

void endpoint::stop() {
  if (mm_) {
    caf::anon_send_exit(mm_, caf::exit_reason::user_shutdown);
    mm_ = nullptr;
  }
}

caf::expected<uint16_t> endpoint::publish(const caf::actor& whom,
                                          uint16_t port,
                                          const std::string& host) {
  auto f = caf::make_function_view(mm_);
  return f(caf::publish_atom_v, port,
           caf::actor_cast<caf::strong_actor_ptr>(whom),
           std::set<std::string>{}, host, true);
}

caf::expected<caf::actor> endpoint::connect(const std::string& host,
                                            uint16_t port) {
  auto f = caf::make_function_view(mm_);
  auto res = f(caf::connect_atom_v, host, port);
  if (!res && res.error() == caf::sec::disconnect_during_handshake)
    return make_error(errc::connect_failed, handshake_refused);
  if (!res)
    return std::move(res.error());
  auto ptr = std::move(std::get<1>(*res));
  if (!ptr)
    return make_error(caf::sec::no_actor_published_at_port, port);
  return caf::actor_cast<caf::actor>(std::move(ptr));
}

void endpoint::disconnect(const caf::node_id& nid) {
  auto basp = sys_.middleman().named_broker<caf::io::basp_broker>(
    caf::atom("BASP"));
  sys_.middleman().backend().dispatch([basp, nid] {
    auto ptr = static_cast<caf::io::basp_broker*>(
      caf::actor_cast<caf::abstract_actor*>(basp));
    if (auto hdl = ptr->instance.tbl().lookup_direct(nid)) {
      // What BASP's heartbeat tick does on a timeout (basp_broker.cpp).
      ptr->connection_cleanup(*hdl, caf::sec::connection_timeout);
      ptr->close(*hdl);
    }
  });
}

guard_stats endpoint::stats() const {
  return guard_->stats();
}

} // namespace troupe::transport
