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

#include "troupe/error.hpp"
#include "troupe/log.hpp"

namespace troupe::transport {

namespace {

using caf::io::network::native_socket;
using caf::io::network::rw_state;
using mpx_type = caf::io::network::default_multiplexer;

bool send_all(native_socket fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    auto n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) // a fresh socket's buffer holds these few bytes at once
      return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

/// What a dialer hears when the other end refused it while they shook hands.
constexpr const char* handshake_refused =
    "refused during the handshake: both sides need the same cluster secret, "
    "or TLS certificates of the same CA";

/// The byte stream of one guarded connection: TLS (CAF's openssl session) or
/// plain TCP with troupe's secret challenge first, and BASP's framing
/// checked on the way in.
class guarded_policy {
public:
  guarded_policy(std::shared_ptr<guard> g, native_socket fd, bool accepted,
                 std::string peer, caf::openssl::session_ptr tls)
    : guard_(std::move(g)),
      accepted_(accepted),
      peer_(std::move(peer)),
      tls_(std::move(tls)),
      framer_(guard_->settings().max_frame) {
    ticket_ = guard_->track(fd, peer_, accepted_);
    auto& secret = guard_->settings().secret;
    if (!tls_ && !secret.empty()) {
      auth_.emplace(secret, accepted_);
      failed_ = !send_all(fd, auth_->hello());
    }
  }

  ~guarded_policy() {
    if (ticket_ != 0)
      guard_->untrack(ticket_);
    if (accepted_)
      guard_->release();
  }

  guarded_policy(const guarded_policy&) = delete;
  guarded_policy& operator=(const guarded_policy&) = delete;

  rw_state read_some(size_t& result, native_socket fd, void* buf, size_t len) {
    result = 0;
    if (failed_)
      return rw_state::failure;
    if (guard_->cuts()->isolated())
      return fail();
    if (cut_off()) {
      // Read and dropped: the stream stays drained, BASP hears nothing.
      auto st = caf::policy::tcp::read_some(result, fd, buf, len);
      result = 0;
      return st == rw_state::failure ? fail() : rw_state::success;
    }
    if (auth_ && auth_->wanted() > 0) {
      if (!authenticate(fd))
        return fail();
      if (auth_->wanted() > 0)
        return rw_state::success; // waits for more of the challenge
    }
    if (tls_)
      ERR_clear_error(); // see closed_early
    auto st = tls_ ? tls_->read_some(result, fd, buf, len)
                   : caf::policy::tcp::read_some(result, fd, buf, len);
    if (st == rw_state::failure) {
      closed_early();
      return fail();
    }
    if (result > 0) {
      if (!got_data_) {
        got_data_ = true;
        first_op_ = static_cast<const unsigned char*>(buf)[0];
      }
      if (!framer_.feed(static_cast<const char*>(buf), result)) {
        guard_->count_oversized();
        log(log_level::warn,
            fmt::format("closed the connection with {}: a frame announced {} "
                        "bytes, more than the {} allowed (max-message-size)",
                        peer_, framer_.announced(),
                        guard_->settings().max_frame));
        result = 0;
        return fail();
      }
      // The first frame must be BASP's handshake (server 0, client 1); CAF
      // drops a peer whose first frame is anything else.
      if (ticket_ != 0 && framer_.frames() > 0 && first_op_ <= 1) {
        guard_->untrack(ticket_);
        ticket_ = 0;
      }
    }
    return st;
  }

  rw_state write_some(size_t& result, native_socket fd, const void* buf,
                      size_t len) {
    result = 0;
    if (failed_)
      return rw_state::failure;
    if (guard_->cuts()->isolated())
      return fail();
    if (cut_off()) {
      result = len; // dropped
      return rw_state::success;
    }
    if (auth_ && auth_->wanted() > 0) {
      // BASP's own handshake waits until the peer proved the secret.
      held_.append(static_cast<const char*>(buf), len);
      result = len;
      return rw_state::success;
    }
    if (tls_) {
      ERR_clear_error();
      auto st = tls_->write_some(result, fd, buf, len);
      if (st == rw_state::failure)
        closed_early();
      return st;
    }
    return caf::policy::tcp::write_some(result, fd, buf, len);
  }

  bool must_read_more(native_socket fd, size_t threshold) {
    return tls_ && tls_->must_read_more(fd, threshold);
  }

  /// What CAF threw while it decoded this peer's input: the connection is
  /// closed (its next read fails) and the node goes on.
  void poison(native_socket fd, const char* what) {
    failed_ = true;
    guard_->count_malformed();
    log(log_level::warn,
        fmt::format("closed the connection with {}: CAF could not decode "
                    "what it sent ({})",
                    peer_, what));
    ::shutdown(fd, SHUT_RDWR);
  }

private:
  rw_state fail() {
    failed_ = true;
    return rw_state::failure;
  }

  // Whether the test kit cut this node off from the peer this connection
  // dialed (see cuts.hpp); once cut, it stays silent.
  bool cut_off() {
    if (!silent_ && !accepted_ && guard_->cuts()->cuts(peer_))
      silent_ = true;
    return silent_;
  }

  // Reads exactly what the challenge's current step needs.
  bool authenticate(native_socket fd) {
    while (auth_->wanted() > 0) {
      auto want = auth_->wanted();
      auth_buf_.resize(want);
      auto n = ::recv(fd, auth_buf_.data() + auth_have_, want - auth_have_, 0);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return true;
      if (n <= 0) {
        if (auth_have_ > 0 || auth_step_ > 0) {
          guard_->count_auth_failure();
          log(log_level::warn,
              fmt::format("{} closed the connection during troupe's secret "
                          "challenge: it does not share this node's cluster "
                          "secret (or uses none)",
                          peer_));
        }
        return false;
      }
      auth_have_ += static_cast<size_t>(n);
      if (auth_have_ < want)
        return true;
      auth_have_ = 0;
      ++auth_step_;
      switch (auth_->take(auth_buf_.data(), want)) {
        case secret_handshake::outcome::send_proof:
          if (!send_all(fd, auth_->proof()))
            return false;
          break;
        case secret_handshake::outcome::not_troupe:
          guard_->count_auth_failure();
          log(log_level::warn,
              fmt::format("refused {}: it did not answer troupe's secret "
                          "challenge (no cluster secret set there, or not a "
                          "troupe node)",
                          peer_));
          return false;
        case secret_handshake::outcome::wrong_secret:
          guard_->count_auth_failure();
          log(log_level::warn,
              fmt::format("refused {}: it does not know this cluster's secret",
                          peer_));
          return false;
        case secret_handshake::outcome::done:
          if (!held_.empty() && !send_all(fd, held_))
            return false;
          held_.clear();
          break;
        case secret_handshake::outcome::more:
          return false;
      }
    }
    return true;
  }

  // A TLS connection that fails before its first frame failed its handshake;
  // one that merely closed without a word was a probe. Either way OpenSSL's
  // error queue (one per thread: the multiplexer's, shared by every
  // connection) must be left empty. CAF's session reads SSL_get_error()
  // without clearing it first, so a stale entry from one connection makes
  // the next "would block" on another look fatal and closes it; we clear
  // before each call and drain after a failure.
  void closed_early() {
    auto why = openssl_errors();
    if (got_data_ || !tls_)
      return;
    // Nothing, or an EOF before the first TLS record: a port probe.
    if (tls_probe(why))
      return;
    guard_->count_tls_failure();
    log(log_level::warn,
        fmt::format("TLS handshake with {} failed: {}", peer_, why));
  }

  std::shared_ptr<guard> guard_;
  bool accepted_;
  std::string peer_;
  caf::openssl::session_ptr tls_;
  basp_framer framer_;
  uint64_t ticket_ = 0;
  std::optional<secret_handshake> auth_;
  std::string auth_buf_;
  size_t auth_have_ = 0;
  int auth_step_ = 0;
  std::string held_;
  bool failed_ = false;
  bool silent_ = false; // cut off (see cut_off)
  bool got_data_ = false;
  unsigned char first_op_ = 0xff;
};

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

guard_stats endpoint::stats() const {
  return guard_->stats();
}

} // namespace troupe::transport
