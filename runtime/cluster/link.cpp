#include "cluster/link.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include <caf/actor_registry.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/execution_unit.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/proxy_registry.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>
#include <caf/sec.hpp>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cluster/core.hpp"
#include "cluster/link_frame.hpp"
#include "cluster/ref.hpp"
#include "troupe/error.hpp"
#include "troupe/log.hpp"
#include "wire/codec.hpp"
#include "actor/dead_letters.hpp"
#include "wire/config_base.hpp"
#include "transport/endpoint.hpp"
#include "transport/guard.hpp"

namespace troupe::cluster {

namespace {

using steady = std::chrono::steady_clock;

// Frame layout: see link_frame.hpp.
using link_frame::hello_magic;
using link_frame::kind_hello;
using link_frame::kind_message;
using link_frame::payload_caf;
using link_frame::payload_proto;
using link_frame::sender_full;
using link_frame::sender_none;
using link_frame::sender_of_reader;
using link_frame::sender_of_writer;
constexpr uint8_t handshake_ok = 0x5a;
/// With a cluster secret: the acceptor's nonce, and the dialer's proof.
constexpr size_t challenge_size = 32;
constexpr size_t mac_size = 32;

/// The dialer's proof that it knows the secret, bound to the acceptor's
/// challenge and to everything its hello says (`hello`: the hello's bytes
/// after the length prefix, without the proof).
std::string link_proof(const std::string& secret, const std::string& challenge,
                       const char* hello, size_t size) {
  return transport::hmac_sha256(secret, "troupe-link" + challenge
                                          + std::string(hello, size));
}

// A corked thread flushes a link once it holds this much.
constexpr size_t cork_limit = 64 * 1024;
// Messages an actor runs inline in a reader before the scheduler takes it.
constexpr size_t inline_throughput = 64;
constexpr auto handshake_timeout = std::chrono::seconds{2};
constexpr auto redial_delay = std::chrono::milliseconds{100};

thread_local bool tl_reader = false;
// The last local sender this thread made sure the peers can answer, and
// the link layer (by serial: a later node's actor system may take the
// address, and its actors the ids, of one that has gone) it did so for.
thread_local uint64_t tl_last_exported_layer = 0;
thread_local caf::actor_id tl_last_exported = caf::invalid_actor_id;
std::atomic<uint64_t> next_layer_serial{0};

struct dirty_link {
  link_layer* layer;
  std::shared_ptr<out_link> link;
};

thread_local std::vector<dirty_link> tl_dirty;

void put_u32(char* p, uint32_t x) {
  p[0] = static_cast<char>(x >> 24);
  p[1] = static_cast<char>(x >> 16);
  p[2] = static_cast<char>(x >> 8);
  p[3] = static_cast<char>(x);
}

void put_u8(std::vector<char>& out, uint8_t x) {
  out.push_back(static_cast<char>(x));
}

void put_u64(std::vector<char>& out, uint64_t x) {
  char b[8];
  for (int i = 0; i < 8; ++i)
    b[i] = static_cast<char>(x >> (56 - 8 * i));
  out.insert(out.end(), b, b + 8);
}

uint32_t get_u32(const char* p) {
  auto b = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16)
         | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

/// Runs actors woken by a reader thread in that thread, as a CAF worker
/// would (the first one only: actors it wakes in turn go to the scheduler).
class inline_unit final : public caf::execution_unit {
public:
  inline_unit(caf::actor_system* sys, caf::proxy_registry* proxies)
    : caf::execution_unit(sys) {
    proxies_ = proxies;
  }

  void exec_later(caf::resumable* job) override {
    if (running_) {
      system().scheduler().enqueue(job);
      return;
    }
    running_ = true;
    switch (job->resume(this, inline_throughput)) {
      case caf::resumable::resume_later:
        system().scheduler().enqueue(job);
        break;
      case caf::resumable::done:
      case caf::resumable::awaiting_message:
        caf::intrusive_ptr_release(job);
        break;
      case caf::resumable::shutdown_execution_unit:
        caf::intrusive_ptr_release(job);
        break;
    }
    running_ = false;
  }

private:
  bool running_ = false;
};

int set_nodelay(int fd) {
  int one = 1;
  return ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/// Maps the result `r` of an OpenSSL read or write on a non-blocking socket
/// to what recv/send say: bytes, 0 at the end, -1 with errno (EAGAIN when it
/// would block). OpenSSL's error queue is per thread, and a link's thread
/// may be any sender's: it is left empty.
ssize_t tls_result(SSL* ssl, int r) {
  if (r > 0)
    return r;
  auto code = SSL_get_error(ssl, r);
  ERR_clear_error();
  switch (code) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      return 0;
    default:
      errno = ECONNRESET;
      return -1;
  }
}

/// The socket under a link's TLS session: OpenSSL's socket BIO writes with
/// write(2), which raises SIGPIPE (ending the process) when the peer has
/// gone; this one sends with MSG_NOSIGNAL, as the plaintext links do. The
/// socket is the BIO's data; the link closes it.
int bio_write(BIO* b, const char* data, int size) {
  auto fd = static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(b)));
  BIO_clear_retry_flags(b);
  auto n = ::send(fd, data, static_cast<size_t>(size),
                  MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    BIO_set_retry_write(b);
  return static_cast<int>(n);
}

int bio_read(BIO* b, char* data, int size) {
  auto fd = static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(b)));
  BIO_clear_retry_flags(b);
  auto n = ::recv(fd, data, static_cast<size_t>(size), MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    BIO_set_retry_read(b);
  if (n == 0)
    BIO_set_flags(b, BIO_FLAGS_IN_EOF); // OpenSSL asks: an unexpected EOF?
  return static_cast<int>(n);
}

long bio_ctrl(BIO* b, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_EOF:
      return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
    default:
      return 0;
  }
}

/// A BIO on `fd` for a link's TLS session (made once, shared by all).
BIO* socket_bio(int fd) {
  static BIO_METHOD* method = [] {
    auto m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                          "troupe link socket");
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    return m;
  }();
  auto b = BIO_new(method);
  if (b != nullptr) {
    BIO_set_data(b, reinterpret_cast<void*>(static_cast<intptr_t>(fd)));
    BIO_set_init(b, 1);
  }
  return b;
}

/// Puts `ssl` on `fd` through `socket_bio`; false if OpenSSL is out of
/// memory.
bool attach(SSL* ssl, int fd) {
  auto b = socket_bio(fd);
  if (b == nullptr)
    return false;
  SSL_set_bio(ssl, b, b); // the session owns the one reference
  return true;
}

/// recv on a non-blocking socket, through TLS when `ssl` is set.
ssize_t link_recv(SSL* ssl, int fd, char* data, size_t size) {
  if (ssl == nullptr)
    return ::recv(fd, data, size, MSG_DONTWAIT);
  ERR_clear_error();
  return tls_result(ssl, SSL_read(ssl, data,
                                  static_cast<int>(std::min<size_t>(size,
                                                                    INT_MAX))));
}

/// send on a non-blocking socket, through TLS when `ssl` is set. After
/// EAGAIN under TLS, the next call must pass the same bytes again (a
/// link's write buffer keeps them until they are written).
ssize_t link_send(SSL* ssl, int fd, const char* data, size_t size) {
  if (ssl == nullptr)
    return ::send(fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
  ERR_clear_error();
  return tls_result(ssl, SSL_write(ssl, data,
                                   static_cast<int>(std::min<size_t>(size,
                                                                     INT_MAX))));
}

/// One step of a TLS handshake on a non-blocking socket: 0 once it is
/// done, POLLIN or POLLOUT for what it waits for, -1 if it failed (then
/// `why` says how: OpenSSL's reason, or empty if the peer just closed).
int handshake_step(SSL* ssl, std::string& why) {
  ERR_clear_error();
  auto r = SSL_do_handshake(ssl);
  if (r == 1)
    return 0;
  auto code = SSL_get_error(ssl, r);
  why = transport::openssl_errors();
  if (code == SSL_ERROR_WANT_READ)
    return POLLIN;
  if (code == SSL_ERROR_WANT_WRITE)
    return POLLOUT;
  return -1;
}

/// One TLS context for both ends of every link: this node's certificate
/// and key, and the cluster's CA, which the peer's certificate must chain
/// to (either way: mutual authentication, as on BASP).
caf::expected<std::shared_ptr<SSL_CTX>>
make_tls_context(const transport::tls_files& files) {
  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx{SSL_CTX_new(TLS_method()), SSL_CTX_free};
  auto fail = [&](const std::string& what) {
    return make_error(errc::bad_config,
                      fmt::format("direct links: {}: {}", what,
                                  transport::openssl_errors()));
  };
  if (!ctx)
    return fail("cannot make a TLS context");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (!files.key_passphrase.empty())
    SSL_CTX_set_default_passwd_cb_userdata(
      ctx.get(), const_cast<char*>(files.key_passphrase.c_str()));
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), files.cert_file.c_str())
      != 1)
    return fail("cannot load certificate " + files.cert_file);
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), files.key_file.c_str(),
                                  SSL_FILETYPE_PEM)
      != 1)
    return fail("cannot load key " + files.key_file);
  if (SSL_CTX_load_verify_locations(ctx.get(), files.ca_file.c_str(), nullptr)
      != 1)
    return fail("cannot load CA " + files.ca_file);
  SSL_CTX_set_verify(ctx.get(),
                     SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     nullptr);
  // A link is one-way after its handshake: the acceptor never writes, so it
  // sends no session tickets either (nothing would read them).
  SSL_CTX_set_num_tickets(ctx.get(), 0);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE
                                | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx;
}

/// Writes all of `data` to a blocking-or-not socket within `deadline`.
bool write_all(int fd, SSL* ssl, const char* data, size_t size,
               steady::time_point deadline) {
  while (size > 0) {
    auto n = link_send(ssl, fd, data, size);
    if (n > 0) {
      data += n;
      size -= static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - steady::now());
      if (left.count() <= 0)
        return false;
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, static_cast<int>(left.count()));
      continue;
    }
    return false;
  }
  return true;
}

/// Reads exactly `size` bytes within `deadline`.
bool read_all(int fd, SSL* ssl, char* data, size_t size,
              steady::time_point deadline) {
  while (size > 0) {
    auto n = link_recv(ssl, fd, data, size);
    if (n > 0) {
      data += n;
      size -= static_cast<size_t>(n);
      continue;
    }
    if (n == 0)
      return false;
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - steady::now());
    if (left.count() <= 0)
      return false;
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(left.count()));
  }
  return true;
}

} // namespace

// -- cork ----------------------------------------------------------------------

void link_layer::flush_corked() {
  // Take the list: flushing it must not see entries added meanwhile.
  std::vector<dirty_link> dirty;
  dirty.swap(tl_dirty);
  for (auto& d : dirty) {
    std::unique_lock<std::mutex> guard{d.link->mtx};
    d.layer->flush_locked(*d.link, guard);
  }
  dirty.clear();
  if (tl_dirty.empty())
    tl_dirty.swap(dirty); // keep the capacity
  detail::tl_cork.dirty = !tl_dirty.empty();
}

// -- out_link ------------------------------------------------------------------

out_link::out_link(caf::node_id p, std::string h, uint16_t pt)
  : peer(std::move(p)), host(std::move(h)), port(pt) {
}

// -- in_link -------------------------------------------------------------------

struct link_layer::in_link {
  int fd = -1;
  std::unique_ptr<SSL, ssl_free> ssl; // under TLS; the reader's
  // Set once by the reader after the handshake, under link_layer::mtx_, so
  // that close() (which reads it under mtx_ from any thread) sees it whole.
  caf::node_id peer;
  std::atomic<bool> closed{false};
  std::atomic<bool> done{false};
  std::thread thread;
};

// -- link_layer ----------------------------------------------------------------

std::unique_ptr<SSL, ssl_free> link_layer::new_tls_session() {
  // A context of its own, as CAF's openssl module makes one per session:
  // OpenSSL fills some caches of shared certificates lazily (a name's
  // canonical encoding), and TSan saw that race between two links' threads
  // sharing one context. The session holds its context.
  auto ctx = make_tls_context(cfg_.tls);
  if (!ctx) {
    log(log_level::warn, describe(ctx.error()));
    return nullptr;
  }
  return std::unique_ptr<SSL, ssl_free>{SSL_new(ctx->get())};
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
    if (auto ctx = make_tls_context(cfg_.tls); !ctx)
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
  port_ = ntohs(addr.ss_family == AF_INET
                  ? reinterpret_cast<sockaddr_in*>(&addr)->sin_port
                  : reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  listen_fd_ = fd;
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
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

void link_layer::open(const caf::node_id& nid, const std::string& host,
                      uint16_t port) {
  if (stopping_ || port == 0 || nid == sys_.node())
    return;
  {
    std::lock_guard<std::shared_mutex> guard{mtx_};
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

void link_layer::close_locked(out_link& l) {
  if (l.st == out_link::state::closed)
    return;
  l.st = out_link::state::closed;
  if (l.frames > 0)
    troupe::detail::count_dead_letter(sys_, troupe::detail::dead_letter::node_down,
                                    l.frames);
  l.frames = 0;
  l.buf.clear();
  l.wbuf.clear();
  l.wpos = 0;
  if (l.fd >= 0) {
    ::shutdown(l.fd, SHUT_RDWR);
    if (!l.flushing)
      drop_socket(l);
  }
  l.space.notify_all();
}

void link_layer::drop_socket(out_link& l) {
  l.ssl.reset(); // no close_notify: the socket goes anyway
  if (l.fd >= 0)
    ::close(l.fd);
  l.fd = -1;
  l.hello_sent = false;
  l.challenge.clear();
  l.tls_ready = false;
  l.tls_want = POLLOUT;
}

bool link_layer::encode(std::vector<char>& out, uint64_t dest,
                        caf::mailbox_element& x, const caf::node_id& peer) {
  auto start = out.size();
  out.resize(start + 4);
  put_u8(out, kind_message);
  put_u64(out, dest);
  put_u64(out, x.mid.integer_value());
  if (!x.sender) {
    put_u8(out, sender_none);
  } else {
    auto aid = x.sender->id();
    const auto& nid = x.sender->node();
    if (nid == sys_.node()) {
      // The peer answers by actor id: make sure the id resolves here.
      if (tl_last_exported != aid || tl_last_exported_layer != serial_) {
        if (!sys_.registry().get(aid))
          sys_.registry().put(aid, x.sender);
        tl_last_exported = aid;
        tl_last_exported_layer = serial_;
      }
      put_u8(out, sender_of_writer);
      put_u64(out, aid);
    } else if (nid == peer) {
      put_u8(out, sender_of_reader);
      put_u64(out, aid);
    } else {
      put_u8(out, sender_full);
      put_u64(out, aid);
      caf::binary_serializer sink{sys_, out};
      if (sink(const_cast<caf::node_id&>(nid))) {
        out.resize(start);
        return false;
      }
    }
  }
  // One registered Protobuf message (the usual case): its bytes, straight.
  auto& xs = x.content();
  if (types_ != nullptr && xs.size() == 1) {
    auto t = xs.type(0);
    auto entry = t.first == 0 && t.second != nullptr ? types_->find(*t.second)
                                                     : nullptr;
    if (entry != nullptr) {
      auto msg = entry->upcast(xs.get(0));
      auto size = msg->ByteSizeLong();
      const auto& name = entry->full_name;
      if (size <= types_->max_message_size && name.size() < 256) {
        put_u8(out, payload_proto);
        put_u8(out, static_cast<uint8_t>(name.size()));
        out.insert(out.end(), name.begin(), name.end());
        auto pos = out.size();
        out.resize(pos + size);
        msg->SerializeWithCachedSizesToArray(
          reinterpret_cast<uint8_t*>(out.data() + pos));
        wire::detail::count_encoded();
        put_u32(out.data() + start,
                static_cast<uint32_t>(out.size() - start - 4));
        return true;
      }
    }
  }
  // Anything else (atoms, CAF types, several elements, an oversized
  // Protobuf that save_proto refuses by name): CAF's own encoding.
  put_u8(out, payload_caf);
  caf::binary_serializer sink{sys_, out};
  if (caf::message::save(sink, xs)) {
    out.resize(start);
    return false;
  }
  put_u32(out.data() + start, static_cast<uint32_t>(out.size() - start - 4));
  return true;
}

link_layer::send_result
link_layer::send(const std::shared_ptr<out_link>& lptr, uint64_t dest,
                 caf::mailbox_element& what) {
  if (!what.stages.empty())
    return send_result::unencodable;
  auto& l = *lptr;
  std::unique_lock<std::mutex> guard{l.mtx};
  if (!tl_reader && l.pending() > cfg_.max_buffer
      && l.st != out_link::state::closed) {
    ++waits;
    // Written data from this thread's cork would never leave otherwise.
    if (detail::tl_cork.depth > 0 && !tl_dirty.empty()) {
      guard.unlock();
      flush_corked();
      guard.lock();
    }
    if (l.st == out_link::state::up && !l.flushing)
      flush_locked(l, guard);
    l.space.wait(guard, [&] {
      return l.st == out_link::state::closed || l.pending() <= cfg_.max_buffer;
    });
  }
  if (l.st == out_link::state::closed)
    return send_result::closed;
  if (!encode(l.buf, dest, what, l.peer))
    return send_result::unencodable;
  ++l.frames;
  ++frames_out;
  if (l.st != out_link::state::up)
    return send_result::ok; // the poller flushes once connected
  if (detail::tl_cork.depth > 0 && l.pending() < cork_limit) {
    for (auto& d : tl_dirty)
      if (d.link == lptr)
        return send_result::ok;
    tl_dirty.push_back({this, lptr});
    detail::tl_cork.dirty = true;
    return send_result::ok;
  }
  flush_locked(l, guard);
  return send_result::ok;
}

void link_layer::flush_locked(out_link& l, std::unique_lock<std::mutex>& guard) {
  if (l.flushing || l.st != out_link::state::up)
    return;
  if (cut(l)) {
    l.held = true; // as packets lost: the poller flushes after the heal
    return;
  }
  l.flushing = true;
  for (;;) {
    if (l.wpos == l.wbuf.size()) {
      if (l.buf.empty()) {
        l.frames = 0;
        break;
      }
      l.wbuf.clear();
      l.wpos = 0;
      l.wbuf.swap(l.buf);
    }
    auto fd = l.fd;
    auto ssl = l.ssl.get(); // only the flusher uses it once the link is up
    auto data = l.wbuf.data() + l.wpos;
    auto size = l.wbuf.size() - l.wpos;
    guard.unlock();
    auto n = link_send(ssl, fd, data, size);
    auto err = errno;
    guard.lock();
    if (l.st == out_link::state::closed)
      break;
    if (n > 0) {
      l.wpos += static_cast<size_t>(n);
      l.space.notify_all();
      continue;
    }
    if (n < 0 && err == EINTR)
      continue;
    if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK)) {
      // The peer reads slower than we write: the poller takes over.
      if (!l.want_write) {
        l.want_write = true;
        wake();
      }
      break;
    }
    // The connection broke: the daemon marks the node down (its BASP link
    // breaks too), and closes this link.
    log(log_level::warn, fmt::format("direct link to {}:{} failed: {}",
                                     l.host, l.port, std::strerror(err)));
    l.flushing = false;
    close_locked(l);
    return;
  }
  l.flushing = false;
  if (l.st == out_link::state::closed && l.fd >= 0)
    drop_socket(l);
}

void link_layer::poll_loop() {
  pthread_setname_np(pthread_self(), "troupe.links");
  std::vector<pollfd> fds;
  std::vector<std::shared_ptr<out_link>> owners;
  while (!stopping_) {
    fds.clear();
    owners.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    owners.resize(2);
    std::vector<std::shared_ptr<out_link>> links;
    {
      std::lock_guard<std::shared_mutex> guard{mtx_};
      for (auto& kvp : out_)
        links.push_back(kvp.second);
    }
    auto now = steady::now();
    for (auto& l : links) {
      std::unique_lock<std::mutex> guard{l->mtx};
      if (l->st == out_link::state::connecting && l->fd < 0
          && now - l->connect_started >= redial_delay && !cut(*l)) {
        // Dial (non-blocking); the poller sees it connect.
        l->connect_started = now;
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* res = nullptr;
        auto port = std::to_string(l->port);
        if (::getaddrinfo(l->host.c_str(), port.c_str(), &hints, &res) == 0) {
          int fd = ::socket(res->ai_family,
                            SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
          if (fd >= 0) {
            set_nodelay(fd);
            if (::connect(fd, res->ai_addr, res->ai_addrlen) == 0
                || errno == EINPROGRESS)
              l->fd = fd;
            else
              ::close(fd);
          }
          ::freeaddrinfo(res);
        }
      }
      // With a secret, the dialer first waits for the acceptor's challenge.
      bool challenged = !cfg_.secret.empty();
      bool shaking = l->ssl && !l->tls_ready; // in its TLS handshake
      if (l->st == out_link::state::connecting && l->fd >= 0
          && (l->hello_sent || challenged || l->ssl)
          && now - l->connect_started > handshake_timeout) {
        drop_socket(*l); // no answer: redial
      }
      if (l->st == out_link::state::connecting && l->fd >= 0) {
        fds.push_back({l->fd,
                       shaking                        ? l->tls_want
                       : l->hello_sent || challenged ? short{POLLIN}
                                                      : short{POLLOUT},
                       0});
        owners.push_back(l);
      } else if (l->st == out_link::state::up && l->held && !l->flushing
                 && !cut(*l)) {
        l->held = false;
        l->want_write = true;
      }
      if (l->st == out_link::state::up && l->want_write && !l->flushing) {
        fds.push_back({l->fd, POLLOUT, 0});
        owners.push_back(l);
      }
    }
    auto rc = ::poll(fds.data(), fds.size(), 50);
    if (rc <= 0)
      continue;
    if (fds[0].revents != 0) {
      uint64_t n = 0;
      auto r = ::read(wake_fd_, &n, sizeof(n));
      (void) r;
    }
    if (fds[1].revents & POLLIN)
      accept_one();
    for (size_t i = 2; i < fds.size(); ++i) {
      if (fds[i].revents == 0)
        continue;
      auto& l = *owners[i];
      std::unique_lock<std::mutex> guard{l.mtx};
      if (l.fd != fds[i].fd)
        continue;
      if (l.st == out_link::state::up) {
        l.want_write = false;
        flush_locked(l, guard);
        continue;
      }
      if (l.st != out_link::state::connecting)
        continue;
      bool ok = (fds[i].revents & (POLLERR | POLLHUP)) == 0;
      if (ok && !l.hello_sent) {
        // Connected: send our node id. The peer answers one byte once it
        // accepts us (polled for below, never waited for here: two nodes
        // dial each other at the same time).
        int err = 0;
        socklen_t len = sizeof(err);
        ::getsockopt(l.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        ok = err == 0;
        if (ok && tls_ && !l.tls_ready) {
          // TLS first (driven by the poller: it waits for what OpenSSL
          // wants), then the hello inside it.
          if (!l.ssl) {
            l.ssl = new_tls_session();
            ok = l.ssl && attach(l.ssl.get(), l.fd);
            if (ok)
              SSL_set_connect_state(l.ssl.get());
            l.connect_started = steady::now();
          }
          std::string why;
          auto step = ok ? handshake_step(l.ssl.get(), why) : -1;
          if (step > 0) {
            l.tls_want = static_cast<short>(step);
            continue;
          }
          l.tls_ready = step == 0;
          if (ok && step < 0) {
            ++bad_frames;
            log(log_level::warn,
                fmt::format("direct link to {}:{}: TLS handshake failed: {}",
                            l.host, l.port,
                            why.empty() ? "the peer closed it" : why));
          }
          ok = l.tls_ready;
        }
        if (ok && !cfg_.secret.empty()
            && l.challenge.size() < challenge_size) {
          char buf[challenge_size];
          auto n = ::recv(l.fd, buf, challenge_size - l.challenge.size(),
                          MSG_DONTWAIT);
          if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
          ok = n > 0;
          if (ok)
            l.challenge.append(buf, static_cast<size_t>(n));
          if (ok && l.challenge.size() < challenge_size)
            continue;
        }
        if (ok) {
          std::vector<char> hello{0, 0, 0, 0, static_cast<char>(kind_hello),
                                  hello_magic[0], hello_magic[1],
                                  hello_magic[2], hello_magic[3]};
          caf::binary_serializer sink{sys_, hello};
          auto self = sys_.node();
          // Who we are, and where our own data port listens: the peer
          // opens its link back at once, so that it can answer what
          // comes over this one before its daemon hears of us.
          auto back_port = port_;
          auto back_host = host_;
          sink(self, back_port, back_host);
          if (!cfg_.secret.empty()) {
            auto mac = link_proof(cfg_.secret, l.challenge, hello.data() + 4,
                                  hello.size() - 4);
            hello.insert(hello.end(), mac.begin(), mac.end());
          }
          put_u32(hello.data(), static_cast<uint32_t>(hello.size() - 4));
          // A fresh socket takes these few bytes at once.
          auto n = link_send(l.ssl.get(), l.fd, hello.data(), hello.size());
          ok = n == static_cast<ssize_t>(hello.size());
          l.hello_sent = ok;
          l.connect_started = steady::now();
        }
        if (ok)
          continue;
      } else if (ok) {
        char ack = 0;
        auto n = link_recv(l.ssl.get(), l.fd, &ack, 1);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
          continue;
        ok = n == 1 && ack == static_cast<char>(handshake_ok);
      }
      if (!ok) {
        drop_socket(l); // redialed after redial_delay while it is wanted
        continue;
      }
      l.st = out_link::state::up;
      log(log_level::debug, fmt::format("direct link to {}:{} is up", l.host,
                                        l.port));
      flush_locked(l, guard);
    }
  }
}

void link_layer::accept_one() {
  int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0)
    return;
  set_nodelay(fd);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  auto in = std::make_shared<in_link>();
  in->fd = fd;
  std::lock_guard<std::shared_mutex> guard{mtx_};
  if (stopping_) {
    ::close(fd);
    return;
  }
  // Forget readers that ended.
  for (auto i = in_.begin(); i != in_.end();) {
    if ((*i)->done) {
      (*i)->thread.join();
      i = in_.erase(i);
    } else {
      ++i;
    }
  }
  // As on the node's port (transport::admit_decision): links still in
  // their handshake cannot keep members out; the oldest makes room.
  size_t open = 0;
  size_t handshaking = 0;
  std::shared_ptr<in_link> oldest;
  for (auto& x : in_) {
    open += x->closed ? 0 : 1;
    if (!x->peer && !x->closed && x->fd >= 0) {
      ++handshaking;
      if (!oldest)
        oldest = x;
    }
  }
  transport::guard_settings limits;
  limits.max_connections = cfg_.max_connections;
  limits.max_handshaking = cfg_.max_handshaking;
  switch (transport::admit_decision(open, handshaking,
                                    limits)) {
    case transport::admission::refuse:
      ++bad_frames;
      log(log_level::warn, fmt::format("direct links: refused a connection, "
                                       "{} are open (max-connections)",
                                       in_.size()));
      ::close(fd);
      return;
    case transport::admission::admit_displacing_oldest:
      log(log_level::warn, "direct links: closed a connection still in its "
                           "handshake to make room for a new one");
      oldest->closed = true;
      ::shutdown(oldest->fd, SHUT_RDWR);
      break;
    case transport::admission::admit:
      break;
  }
  in_.push_back(in);
  in->thread = std::thread{[this, in] { reader(in); }};
}

bool link_layer::await_member(const core& c, const caf::node_id& nid,
                              steady::time_point deadline,
                              const in_link& l) const {
  auto give_up = [&] { return l.closed.load() || stopping_.load(); };
  if (c.await_up_member(nid, steady::now(), give_up))
    return true;
  // It dialed as soon as it heard of this node, maybe before this node's
  // daemon took it in: wait for that, bounded by the handshake's deadline.
  log(log_level::debug, "direct link from a node that is not an up member "
                        "(yet): waiting for its join");
  return c.await_up_member(nid, deadline, give_up);
}

void link_layer::reader(std::shared_ptr<in_link> l) {
  pthread_setname_np(pthread_self(), "troupe.link.in");
  tl_reader = true;
  auto cptr = core_.lock();
  if (!cptr) {
    std::lock_guard<std::shared_mutex> guard{mtx_};
    l->closed = true;
    ::close(l->fd);
    l->fd = -1;
    l->done = true;
    return;
  }
  // Only this thread uses the session (close() from elsewhere shuts the
  // socket down); it goes with the socket, at the end.
  auto& c = *cptr;
  inline_unit unit{&sys_, proxies_};
  // A frame is its payload plus headers well under 64 KiB.
  auto max_frame = static_cast<uint32_t>(std::min<size_t>(
    (types_ != nullptr ? types_->max_message_size : 64 * 1024 * 1024)
      + 64 * 1024,
    0xFFFFFFF0u));
  auto drop = [&](const std::string& why) {
    ++bad_frames;
    log(log_level::warn, fmt::format("direct link from {}: {}; dropping the "
                                     "connection",
                                     l->peer ? c.member_of(l->peer)
                                             : std::string{"a peer"},
                                     why));
  };
  // -- handshake ----------------------------------------------------------
  auto deadline = steady::now() + handshake_timeout;
  std::string challenge;
  bool ok = true;
  if (tls_) {
    l->ssl = new_tls_session();
    ok = l->ssl && attach(l->ssl.get(), l->fd);
    if (ok)
      SSL_set_accept_state(l->ssl.get());
    while (ok) {
      std::string why;
      auto step = handshake_step(l->ssl.get(), why);
      if (step == 0)
        break;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - steady::now());
      if (step < 0 || left.count() <= 0 || l->closed) {
        // A peer that closes before its first TLS record was a probe.
        if ((step < 0 && !transport::tls_probe(why)) || left.count() <= 0)
          drop(fmt::format("TLS handshake failed: {}",
                           left.count() <= 0 ? "timed out" : why));
        ok = false;
        break;
      }
      pollfd p{l->fd, static_cast<short>(step), 0};
      ::poll(&p, 1, static_cast<int>(std::min<long>(left.count(), 100)));
    }
  }
  auto ssl = l->ssl.get();
  if (ok && !cfg_.secret.empty()) {
    challenge = transport::random_bytes(challenge_size);
    ok = write_all(l->fd, ssl, challenge.data(), challenge.size(), deadline);
  }
  char hdr[4];
  ok = ok && read_all(l->fd, ssl, hdr, 4, deadline);
  std::vector<char> rb;
  if (ok) {
    auto len = get_u32(hdr);
    if (len < 5 || len > 2048) {
      drop("bad handshake length");
      ok = false;
    } else {
      rb.resize(len);
      ok = read_all(l->fd, ssl, rb.data(), len, deadline);
    }
  }
  if (ok && !cfg_.secret.empty()) {
    auto proof_at = rb.size() > mac_size ? rb.size() - mac_size : 0;
    auto mac = link_proof(cfg_.secret, challenge, rb.data(), proof_at);
    if (proof_at == 0
        || CRYPTO_memcmp(mac.data(), rb.data() + proof_at, mac_size) != 0) {
      drop("it does not know this cluster's secret");
      ok = false;
    }
    rb.resize(proof_at);
  }
  if (ok) {
    link_frame::hello hi;
    if (!link_frame::parse_hello(&unit, rb.data(), rb.size(), hi)) {
      drop("not a troupe link handshake");
      ok = false;
    } else if (!await_member(c, hi.node, deadline, *l)) {
      log(log_level::debug, "direct link refused: not an up member");
      ok = false;
    } else {
      {
        std::lock_guard<std::shared_mutex> guard{mtx_};
        l->peer = hi.node;
      }
      if (hi.back_port != 0)
        open(hi.node, hi.back_host, hi.back_port);
      char ack = static_cast<char>(handshake_ok);
      ok = write_all(l->fd, ssl, &ack, 1, steady::now() + handshake_timeout);
    }
  }
  std::unordered_map<caf::actor_id, caf::strong_actor_ptr> mirrors;
  auto mirror = [&](caf::actor_id aid) -> caf::strong_actor_ptr {
    auto i = mirrors.find(aid);
    if (i != mirrors.end())
      return i->second;
    auto hdl = make_mirror(sys_, cptr, l->peer, aid);
    mirrors.emplace(aid, hdl);
    return hdl;
  };
  // -- frames ---------------------------------------------------------------
  size_t have = 0;
  rb.assign(256 * 1024, 0);
  auto last = steady::now();
  caf::actor_id last_dest = caf::invalid_actor_id;
  caf::weak_actor_ptr last_target;
  auto deliver = [&](const char* p, size_t n) -> bool {
    link_frame::message f;
    if (auto why = link_frame::parse_message(&unit, types_, p, n, f);
        !why.empty())
      return drop(why), false;
    auto dest = f.dest;
    auto mid = f.mid;
    caf::strong_actor_ptr sender;
    switch (f.sender_kind) {
      case sender_of_writer:
        sender = mirror(f.sender);
        break;
      case sender_of_reader:
        sender = sys_.registry().get(f.sender);
        break;
      case sender_full:
        if (f.sender_node == sys_.node())
          sender = sys_.registry().get(f.sender);
        else if (f.sender_node == l->peer)
          sender = mirror(f.sender);
        else if (proxies_ != nullptr)
          sender = proxies_->get_or_put(f.sender_node, f.sender);
        break;
    }
    auto& msg = f.content;
    ++frames_in;
    caf::strong_actor_ptr target;
    if (dest == last_dest)
      target = last_target.lock();
    if (!target) {
      target = sys_.registry().get(dest);
      last_dest = dest;
      last_target = caf::weak_actor_ptr{target.get()};
    }
    if (!target) {
      if (mid.is_request() && sender)
        sender->enqueue(caf::make_mailbox_element(
                          nullptr, mid.response_id(), {},
                          caf::make_error(caf::sec::request_receiver_down)),
                        &unit);
      else if (!mid.is_response())
        troupe::detail::count_dead_letter(sys_,
                                        troupe::detail::dead_letter::actor_gone);
      return true;
    }
    target->enqueue(caf::make_mailbox_element(std::move(sender), mid, {},
                                              std::move(msg)),
                    &unit);
    return true;
  };
  while (ok && !stopping_ && !l->closed) {
    auto n = link_recv(ssl, l->fd, rb.data() + have, rb.size() - have);
    if (n > 0) {
      have += static_cast<size_t>(n);
      size_t pos = 0;
      {
        cork_scope cork;
        while (ok && have - pos >= 4) {
          auto len = get_u32(rb.data() + pos);
          if (len == 0 || len > max_frame) {
            drop(fmt::format("frame of {} bytes", len));
            ok = false;
            break;
          }
          if (have - pos - 4 < len) {
            if (rb.size() < len + 4)
              rb.resize(len + 4);
            break;
          }
          ok = deliver(rb.data() + pos + 4, len);
          pos += 4 + len;
        }
      }
      if (pos > 0 && pos < have)
        std::memmove(rb.data(), rb.data() + pos, have - pos);
      have -= pos;
      if (rb.size() < have + 4096)
        rb.resize(rb.size() * 2);
      last = steady::now();
      continue;
    }
    if (n == 0)
      break;
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      break;
    if (cfg_.spin.count() > 0 && steady::now() - last < cfg_.spin) {
      // Yield rather than pause: when the peer shares this CPU, it runs.
      sched_yield();
      continue;
    }
    pollfd p{l->fd, POLLIN, 0};
    ::poll(&p, 1, 100);
    last = steady::now();
    // A wake-up after sleeping: spin again only once data flows.
    last -= cfg_.spin;
  }
  for (auto& kvp : mirrors)
    retire_mirror(kvp.second,
                  make_error(errc::node_down,
                             fmt::format("the link from '{}' closed",
                                         c.member_of(l->peer))));
  mirrors.clear();
  std::lock_guard<std::shared_mutex> guard{mtx_};
  l->closed = true;
  l->ssl.reset();
  ::close(l->fd);
  l->fd = -1;
  l->done = true;
}

} // namespace troupe::cluster
