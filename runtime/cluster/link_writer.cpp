// SPDX-License-Identifier: Apache-2.0
// The direct links' writer: frames out from any sending thread, corked
// until the handler returns or written at once, and the flush that writes
// them (the poller finishes a flush the socket could not take: see
// link_dialer.cpp).
#include "cluster/link.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <caf/actor_registry.hpp>
#include <caf/mailbox_element.hpp>
#include <fmt/format.h>

#include "actor/dead_letters.hpp"
#include "cluster/link_detail.hpp"
#include "cluster/link_frame.hpp"
#include "troupe/log.hpp"
#include "wire/codec.hpp"
#include "wire/config_base.hpp"

namespace troupe::cluster {

namespace {

using link_detail::tl_reader;

// A corked thread flushes a link once it holds this much.
constexpr size_t cork_limit = 64 * 1024;

// The last local sender this thread made sure the peers can answer, and
// the link layer (by serial: a later node's actor system may take the
// address, and its actors the ids, of one that has gone) it did so for.
thread_local uint64_t tl_last_exported_layer = 0;
thread_local caf::actor_id tl_last_exported = caf::invalid_actor_id;

/// The peer answers a sender on this node by actor id: make sure the id
/// resolves here.
void export_sender(caf::actor_system& sys, uint64_t serial,
                   const caf::strong_actor_ptr& sender) {
  if (!sender || sender->node() != sys.node())
    return;
  auto aid = sender->id();
  if (tl_last_exported != aid || tl_last_exported_layer != serial) {
    if (!sys.registry().get(aid))
      sys.registry().put(aid, sender);
    tl_last_exported = aid;
    tl_last_exported_layer = serial;
  }
}

struct dirty_link {
  link_layer* layer;
  std::shared_ptr<out_link> link;
};

// The links this thread has corked.
thread_local std::vector<dirty_link> tl_dirty;

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

// -- send and flush ------------------------------------------------------------

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
  export_sender(sys_, serial_, what.sender);
  auto before = l.buf.size();
  if (!link_frame::encode_message(sys_, types_, dest, what, l.peer, l.buf))
    return send_result::unencodable;
  ++l.frames;
  ++l.sent_frames;
  l.sent_bytes += l.buf.size() - before;
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
    if (!l.held)
      wake(); // the poller watches for the heal (on a timer)
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
    auto n = transport::send_some(ssl, fd, data, size);
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

// -- closing -------------------------------------------------------------------

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
  l.shake = {};
  l.tls_ready = false;
  l.tls_want = POLLOUT;
}

} // namespace troupe::cluster
