// SPDX-License-Identifier: Apache-2.0
// The direct links' poller thread: it dials each wanted link and drives the
// dialer's side of its handshake (TLS, the acceptor's challenge, the hello,
// the answer) without ever blocking on one peer, since two nodes dial each
// other at the same time; it also accepts incoming links
// (link_reader.cpp) and finishes the flushes a full socket stopped
// (link_writer.cpp).
#include "cluster/link.hpp"

#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "cluster/link_detail.hpp"
#include "troupe/log.hpp"

namespace troupe::cluster {

using link_detail::handshake_timeout;
using link_detail::redial_delay;
using link_detail::steady;

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
    auto now = steady::now();
    // Dials, handshakes and cuts have timers; links that are up and idle
    // have none (open, close and stop wake the poller), so an idle node's
    // poller sleeps.
    bool timers = false;
    for (auto& l : links()) {
      std::unique_lock<std::mutex> guard{l->mtx};
      if (auto events = watch(*l, now); events != 0) {
        fds.push_back({l->fd, events, 0});
        owners.push_back(l);
      }
      timers |= l->st == out_link::state::connecting || l->held;
    }
    auto rc = ::poll(fds.data(), fds.size(), timers ? 50 : 1000);
    if (rc <= 0)
      continue;
    if (fds[0].revents != 0) {
      uint64_t n = 0;
      auto r = ::read(wake_fd_, &n, sizeof(n));
      (void) r;
    }
    if (fds[1].revents & POLLIN)
      accept_one();
    for (size_t i = 2; i < fds.size(); ++i)
      if (fds[i].revents != 0)
        on_ready(*owners[i], fds[i]);
  }
}

std::vector<link_flow> link_layer::flows() const {
  std::vector<link_flow> out;
  auto find_peer = [&](const caf::node_id& nid) -> link_flow& {
    for (auto& f : out)
      if (f.peer == nid)
        return f;
    out.push_back(link_flow{nid});
    return out.back();
  };
  std::lock_guard<std::shared_mutex> guard{mtx_};
  for (auto& kvp : out_) {
    std::lock_guard<std::mutex> link_guard{kvp.second->mtx};
    auto& f = find_peer(kvp.first);
    f.frames_out += kvp.second->sent_frames;
    f.bytes_out += kvp.second->sent_bytes;
  }
  for (auto& l : in_) {
    if (!l->peer) // still in its handshake
      continue;
    auto& f = find_peer(l->peer);
    f.frames_in += l->frames.load(std::memory_order_relaxed);
    f.bytes_in += l->bytes.load(std::memory_order_relaxed);
  }
  return out;
}

std::vector<std::shared_ptr<out_link>> link_layer::links() const {
  std::vector<std::shared_ptr<out_link>> result;
  std::lock_guard<std::shared_mutex> guard{mtx_};
  for (auto& kvp : out_)
    result.push_back(kvp.second);
  return result;
}

short link_layer::watch(out_link& l, steady_time now) {
  if (l.st == out_link::state::connecting && l.fd < 0
      && now - l.connect_started >= redial_delay && !cut(l))
    dial(l, now);
  // With a secret, the dialer first waits for the acceptor's challenge.
  bool challenged = !cfg_.secret.empty();
  bool shaking = l.ssl && !l.tls_ready; // in its TLS handshake
  if (l.st == out_link::state::connecting && l.fd >= 0
      && (l.hello_sent || challenged || l.ssl)
      && now - l.connect_started > handshake_timeout) {
    drop_socket(l); // no answer: redial
  }
  if (l.st == out_link::state::connecting && l.fd >= 0)
    return shaking                        ? l.tls_want
           : l.hello_sent || challenged ? short{POLLIN}
                                         : short{POLLOUT};
  if (l.st == out_link::state::up && l.held && !l.flushing && !cut(l)) {
    l.held = false; // the cut healed: what it held goes now
    l.want_write = true;
  }
  if (l.st == out_link::state::up && l.want_write && !l.flushing)
    return POLLOUT;
  return 0;
}

void link_layer::dial(out_link& l, steady_time now) {
  // Non-blocking; the poller sees it connect.
  l.connect_started = now;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  auto port = std::to_string(l.port);
  if (::getaddrinfo(l.host.c_str(), port.c_str(), &hints, &res) != 0)
    return;
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
  if (fd >= 0) {
    transport::set_nodelay(fd);
    if (::connect(fd, res->ai_addr, res->ai_addrlen) == 0
        || errno == EINPROGRESS) {
      l.fd = fd;
      l.shake = link_dial_handshake{cfg_.secret};
    } else {
      ::close(fd);
    }
  }
  ::freeaddrinfo(res);
}

void link_layer::on_ready(out_link& l, const pollfd& ready) {
  std::unique_lock<std::mutex> guard{l.mtx};
  if (l.fd != ready.fd)
    return; // dropped (and maybe redialed) meanwhile
  if (l.st == out_link::state::up) {
    l.want_write = false;
    flush_locked(l, guard);
  } else if (l.st == out_link::state::connecting) {
    advance_dial(l, ready.revents, guard);
  }
}

void link_layer::advance_dial(out_link& l, short revents,
                              std::unique_lock<std::mutex>& guard) {
  auto step = (revents & (POLLERR | POLLHUP)) != 0 ? dial_step::failed
              : !l.hello_sent                       ? introduce(l)
                                                    : await_ack(l);
  if (step == dial_step::wait)
    return;
  if (step == dial_step::failed) {
    drop_socket(l); // redialed after redial_delay while it is wanted
    return;
  }
  l.st = out_link::state::up;
  log(log_level::debug, fmt::format("direct link to {}:{} is up", l.host,
                                    l.port));
  flush_locked(l, guard);
}

link_layer::dial_step link_layer::introduce(out_link& l) {
  // Connected: send our node id. The peer answers one byte once it accepts
  // us (polled for, never waited for here: two nodes dial each other at
  // the same time).
  int err = 0;
  socklen_t len = sizeof(err);
  ::getsockopt(l.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0)
    return dial_step::failed;
  if (tls_ && !l.tls_ready) {
    if (auto step = dial_tls(l); step != dial_step::done)
      return step;
  }
  if (auto step = read_challenge(l); step != dial_step::done)
    return step;
  return send_hello(l);
}

link_layer::dial_step link_layer::dial_tls(out_link& l) {
  // TLS first (driven by the poller: it waits for what OpenSSL wants), then
  // the hello inside it.
  bool ok = true;
  if (!l.ssl) {
    l.ssl = new_tls_session();
    ok = l.ssl && transport::attach_socket(l.ssl.get(), l.fd);
    if (ok)
      SSL_set_connect_state(l.ssl.get());
    l.connect_started = steady::now();
  }
  std::string why;
  auto step = ok ? transport::tls_handshake_step(l.ssl.get(), why) : -1;
  if (step > 0) {
    l.tls_want = static_cast<short>(step);
    return dial_step::wait;
  }
  l.tls_ready = step == 0;
  if (ok && step < 0) {
    ++bad_frames;
    log(log_level::warn,
        fmt::format("direct link to {}:{}: TLS handshake failed: {}", l.host,
                    l.port, why.empty() ? "the peer closed it" : why));
  }
  return l.tls_ready ? dial_step::done : dial_step::failed;
}

link_layer::dial_step link_layer::read_challenge(out_link& l) {
  auto left = l.shake.challenge_left();
  if (left == 0)
    return dial_step::done;
  char buf[transport::link_proof::challenge_size];
  auto n = ::recv(l.fd, buf, left, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return dial_step::wait;
  if (n <= 0)
    return dial_step::failed;
  l.shake.take_challenge(buf, static_cast<size_t>(n));
  return l.shake.challenge_left() == 0 ? dial_step::done : dial_step::wait;
}

link_layer::dial_step link_layer::send_hello(out_link& l) {
  // Who we are, and where our own data port listens: the peer opens its
  // link back at once, so that it can answer what comes over this one
  // before its daemon hears of us.
  link_frame::hello me;
  me.node = sys_.node();
  me.back_port = port_;
  me.back_host = host_;
  auto hello = l.shake.hello(sys_, me);
  // A fresh socket takes these few bytes at once.
  auto n = transport::send_some(l.ssl.get(), l.fd, hello.data(), hello.size());
  l.hello_sent = n == static_cast<ssize_t>(hello.size());
  l.connect_started = steady::now();
  return l.hello_sent ? dial_step::wait : dial_step::failed;
}

link_layer::dial_step link_layer::await_ack(out_link& l) {
  char ack = 0;
  auto n = transport::recv_some(l.ssl.get(), l.fd, &ack, 1);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return dial_step::wait;
  return n == 1 && link_dial_handshake::accepted(ack) ? dial_step::done
                                                      : dial_step::failed;
}

} // namespace troupe::cluster
