// SPDX-License-Identifier: Apache-2.0
// The direct links' readers: the poller accepts a connection, a short-lived
// thread does the acceptor's side of the handshake, then a thread of the
// node's link_loop reads its frames (each delivered as link_delivery.cpp
// says).
#include "cluster/link.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "actor/inline_run.hpp"
#include "cluster/core.hpp"
#include "cluster/link_detail.hpp"
#include "cluster/link_handshake.hpp"
#include "cluster/link_loop.hpp"
#include "cluster/link_reader.hpp"
#include "troupe/log.hpp"
#include "troupe/wire/type_registry.hpp"

namespace troupe::cluster {

thread_local bool link_detail::tl_reader = false;

void link_detail::mark_reader_thread() noexcept {
  tl_reader = true;
  troupe::detail::caller_unit::mark_runtime_thread();
}

using link_detail::handshake_timeout;
using link_detail::steady;

// -- accept --------------------------------------------------------------------

void link_layer::accept_one() {
  int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0)
    return;
  transport::set_nodelay(fd);
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
  in->thread = std::thread{[this, in] { link_reader::run(*this, in); }};
}

// -- link_reader ---------------------------------------------------------------

void link_reader::run(link_layer& layer, std::shared_ptr<in_link> l) {
  pthread_setname_np(pthread_self(), "troupe.link.hs");
  link_detail::mark_reader_thread();
  auto cptr = layer.core_.lock();
  if (!cptr) {
    std::lock_guard<std::shared_mutex> guard{layer.mtx_};
    l->closed = true;
    ::close(l->fd);
    l->fd = -1;
    l->done = true;
    return;
  }
  std::unique_ptr<link_reader> reader{new link_reader{layer, l,
                                                      std::move(cptr)}};
  if (reader->handshake() && !layer.stopping_ && !l->closed) {
    reader->rb_.assign(256 * 1024, 0);
    reader->have_ = 0;
    if (layer.loop_ && layer.loop_->adopt(reader))
      return; // the loop reads it from now on
  }
  reader->finish();
}

void link_reader::finish() {
  retire_mirrors();
  // Only the reading thread uses the session (close() from elsewhere shuts
  // the socket down); it goes with the socket, here.
  std::lock_guard<std::shared_mutex> guard{layer_.mtx_};
  l_->closed = true;
  l_->ssl.reset();
  ::close(l_->fd);
  l_->fd = -1;
  l_->done = true;
}

link_reader::link_reader(link_layer& layer, std::shared_ptr<in_link> l,
                         std::shared_ptr<core> c)
  : layer_(layer),
    sys_(layer.sys_),
    l_(std::move(l)),
    core_(std::move(c)),
    unit_(&layer.sys_, layer.proxies_),
    // A frame is its payload plus headers well under 64 KiB.
    max_frame_(static_cast<uint32_t>(std::min<size_t>(
      (layer.types_ != nullptr ? layer.types_->max_message_size
                               : 64 * 1024 * 1024)
        + 64 * 1024,
      0xFFFFFFF0u))) {
}

void link_reader::drop(const std::string& why) {
  ++layer_.bad_frames;
  log(log_level::warn, fmt::format("direct link from {}: {}; dropping the "
                                   "connection",
                                   l_->peer ? core_->view.member_of(l_->peer)
                                            : std::string{"a peer"},
                                   why));
}

// -- handshake -----------------------------------------------------------------

bool link_reader::handshake() {
  auto deadline = steady::now() + handshake_timeout;
  if (layer_.tls_ && !tls_handshake(deadline))
    return false;
  auto ssl = l_->ssl.get();
  link_accept_handshake shake{layer_.cfg_.secret};
  const auto& challenge = shake.challenge();
  if (!challenge.empty()
      && !transport::write_all(l_->fd, ssl, challenge.data(), challenge.size(),
                               deadline))
    return false;
  std::vector<char> buf;
  for (;;) {
    buf.resize(shake.wanted());
    if (!transport::read_all(l_->fd, ssl, buf.data(), buf.size(), deadline))
      return false;
    switch (auto x = shake.take(&unit_, buf.data(), buf.size())) {
      case link_accept_handshake::outcome::more:
        continue;
      case link_accept_handshake::outcome::hello:
        return admit(shake.peer(), deadline);
      default:
        drop(link_accept_handshake::why(x));
        return false;
    }
  }
}

bool link_reader::tls_handshake(steady::time_point deadline) {
  l_->ssl = layer_.new_tls_session();
  bool ok = l_->ssl && transport::attach_socket(l_->ssl.get(), l_->fd);
  if (ok)
    SSL_set_accept_state(l_->ssl.get());
  while (ok) {
    std::string why;
    auto step = transport::tls_handshake_step(l_->ssl.get(), why);
    if (step == 0)
      break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - steady::now());
    if (step < 0 || left.count() <= 0 || l_->closed) {
      // A peer that closes before its first TLS record was a probe.
      if ((step < 0 && !transport::tls_probe(why)) || left.count() <= 0)
        drop(fmt::format("TLS handshake failed: {}",
                         left.count() <= 0 ? "timed out" : why));
      ok = false;
      break;
    }
    pollfd p{l_->fd, static_cast<short>(step), 0};
    ::poll(&p, 1, static_cast<int>(std::min<long>(left.count(), 100)));
  }
  return ok;
}

bool link_reader::await_member(const caf::node_id& nid,
                               steady::time_point deadline) const {
  if (core_->view.up_member(nid))
    return true;
  auto give_up = [&] {
    return l_->closed.load() || layer_.stopping_.load();
  };
  // It dialed as soon as it heard of this node, maybe before this node's
  // daemon took it in: wait for that, bounded by the handshake's deadline.
  log(log_level::debug, "direct link from a node that is not an up member "
                        "(yet): waiting for its join");
  return core_->view.await_up_member(nid, deadline, give_up);
}

bool link_reader::admit(const link_frame::hello& hi,
                        steady::time_point deadline) {
  if (!await_member(hi.node, deadline)) {
    log(log_level::debug, "direct link refused: not an up member");
    return false;
  }
  {
    std::lock_guard<std::shared_mutex> guard{layer_.mtx_};
    l_->peer = hi.node;
  }
  if (hi.back_port != 0)
    layer_.open(hi.node, hi.back_host, hi.back_port);
  char ack = link_accept_handshake::ack();
  return transport::write_all(l_->fd, l_->ssl.get(), &ack, 1,
                              steady::now() + handshake_timeout);
}

// -- frames --------------------------------------------------------------------

link_reader::outcome link_reader::read_some(size_t max_reads) {
  outcome out;
  auto ssl = l_->ssl.get();
  for (size_t i = 0; i < max_reads; ++i) {
    if (layer_.stopping_ || l_->closed) {
      out.closed = true;
      return out;
    }
    auto n = transport::recv_some(ssl, l_->fd, rb_.data() + have_,
                                  rb_.size() - have_);
    if (n > 0) {
      out.data = true;
      have_ += static_cast<size_t>(n);
      l_->bytes.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
      if (!take_frames()) {
        out.closed = true;
        return out;
      }
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return out; // drained: epoll says when there is more
    out.closed = true; // the peer closed, or the socket failed
    return out;
  }
  out.more = true;
  return out;
}

bool link_reader::take_frames() {
  bool ok = true;
  size_t pos = 0;
  uint64_t taken = 0; // for the link's own count, added once per batch
  {
    cork_scope cork;
    while (ok && have_ - pos >= 4) {
      auto len = link_frame::get_length(rb_.data() + pos);
      if (len == 0 || len > max_frame_) {
        drop(fmt::format("frame of {} bytes", len));
        ok = false;
        break;
      }
      if (have_ - pos - 4 < len) {
        if (rb_.size() < len + 4)
          rb_.resize(len + 4);
        break;
      }
      ok = deliver(rb_.data() + pos + 4, len);
      taken += ok ? 1 : 0;
      pos += 4 + len;
    }
  }
  if (taken > 0)
    l_->frames.fetch_add(taken, std::memory_order_relaxed);
  if (pos > 0 && pos < have_)
    std::memmove(rb_.data(), rb_.data() + pos, have_ - pos);
  have_ -= pos;
  if (rb_.size() < have_ + 4096)
    rb_.resize(rb_.size() * 2);
  return ok;
}

} // namespace troupe::cluster
