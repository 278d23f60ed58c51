// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <poll.h>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/node_id.hpp>

#include "actor/cork.hpp"
#include "cluster/link_handshake.hpp"
#include "transport/guard.hpp"
#include "transport/tls_socket.hpp"

namespace troupe::wire {
class type_registry;
} // namespace troupe::wire

namespace troupe::cluster {

class core;
class link_loop;

/// Settings of the direct links (see `link_layer`).
struct link_settings {
  /// Off: every message to another node takes CAF's BASP path.
  bool enabled = true;
  /// The most a reader thread keeps polling its links after a frame before
  /// it blocks (a blocked reader wakes up tens of microseconds later on a
  /// VM; see docs/cluster.md, "Direct links"); adaptive below that, and 0
  /// on an idle node (actor/spin_budget.hpp).
  std::chrono::microseconds spin{50};
  /// Threads that read all incoming links (link_loop.hpp); 0: min(cores,
  /// 2).
  size_t readers = 0;
  /// Unsent bytes one peer's link may hold before a sender waits.
  size_t max_buffer = 1 << 20;
  /// The cluster secret: a dialer must answer the acceptor's challenge.
  /// Not used under TLS (as on BASP).
  std::string secret;
  /// TLS with mutual authentication, from the same files as BASP's: each
  /// link is a TLS connection whose peer shows a certificate of the
  /// cluster's CA. All empty: plaintext.
  transport::tls_files tls;
  /// Incoming links alive at once (one per peer is normal).
  size_t max_connections = 512;
  /// Of those, links still in their handshake; a new one beyond either
  /// bound closes the oldest of them (see transport::admit_decision).
  size_t max_handshaking = 64;
};

/// One node's outgoing connection to one peer: frames appended by any
/// sending thread, written by whichever thread flushes.
class out_link {
public:
  out_link(caf::node_id peer, std::string host, uint16_t port);

  const caf::node_id peer;
  const std::string host;
  const uint16_t port;

private:
  friend class link_layer;

  enum class state { connecting, up, closed };

  size_t pending() const {
    return wbuf.size() - wpos + buf.size();
  }

  std::mutex mtx;
  std::condition_variable space; // senders waiting for room
  state st = state::connecting;
  int fd = -1;
  bool hello_sent = false; // connecting: waiting for the peer's answer
  link_dial_handshake shake; // connecting: the challenge, then the hello
  transport::ssl_ptr ssl;  // under TLS, freed with `fd`
  bool tls_ready = false;  // its TLS handshake is done
  short tls_want = POLLOUT; // the event its TLS handshake waits for
  bool flushing = false;  // a thread is writing wbuf
  bool want_write = false; // the socket was full: the poller flushes
  bool held = false; // cut off by a test (transport/cuts.hpp): the poller
                     // flushes once the cut heals
  std::vector<char> buf;  // appended frames
  std::vector<char> wbuf; // frames being written
  size_t wpos = 0;
  size_t frames = 0; // frames appended since the link was last empty
  std::chrono::steady_clock::time_point connect_started;
  // Since the link was made (under mtx; read by `link_layer::flows`).
  uint64_t sent_frames = 0;
  uint64_t sent_bytes = 0;
};

/// What went over the direct links with one peer since they were made.
struct link_flow {
  caf::node_id peer;
  uint64_t frames_out = 0;
  uint64_t bytes_out = 0;
  uint64_t frames_in = 0;
  uint64_t bytes_in = 0;
};

/// troupe's data plane: a direct TCP link from a node to each member it
/// sends to through troupe handles (dialed on the first message), next to CAF's BASP connection (which keeps carrying membership,
/// names and everything sent through plain CAF proxies).
///
/// Why: a BASP message takes three thread hops each way (sending worker →
/// multiplexer → BASP worker → receiving worker). On a link, the sending
/// thread writes the frame itself, and the reader thread runs the
/// receiving actor inline (as a CAF execution unit) when it is idle, so a
/// request and its answer cost one socket wake-up each way, like a blocking
/// TCP ping-pong. Sends inside one actor handler are corked and written
/// together when the handler returns (or at 64 KiB).
///
/// Each node dials each peer's data port (advertised with FlowHello) and
/// writes only to its own outgoing connection; it reads the peers'
/// connections to it. Frames between two nodes therefore keep their order.
/// Back-pressure is TCP's: once `max_buffer` bytes wait, a sender blocks
/// until the peer reads or is marked down (then its messages are dead
/// letters and its requests fail with node_down). Readers never block on a
/// send (they would deadlock two busy nodes).
///
/// Its parts, one job a file: link.cpp (this owner: listening, opening and
/// closing links, stopping), link_writer.cpp (sending, corking, flushing),
/// link_dialer.cpp (the poller thread: dialing and the dialer's handshake,
/// stalled flushes), link_reader.cpp (accepting, a short-lived thread for
/// an incoming link's handshake, then framing), link_loop.cpp (the few
/// reader threads, epoll loops that read all incoming links: threads do not
/// grow with peers), link_delivery.cpp (what a frame becomes: a
/// message to an actor from a mirror of its sender). Below them, I/O-free:
/// link_frame.hpp (the bytes) and link_handshake.hpp; the sockets, TLS or
/// not: transport/tls_socket.hpp.
class link_layer {
public:
  using steady_time = std::chrono::steady_clock::time_point;

  link_layer(caf::actor_system& sys, std::weak_ptr<core> c,
             link_settings cfg);

  ~link_layer();

  link_layer(const link_layer&) = delete;
  link_layer& operator=(const link_layer&) = delete;

  /// Listens on `host` (OS-chosen port) and starts the poller thread.
  caf::error start(const std::string& host);

  /// Closes every link and joins every thread this layer started.
  void stop();

  uint16_t port() const {
    return port_;
  }

  /// CAF's BASP proxies (for senders on third nodes, and mirrors that
  /// watch their actor).
  caf::proxy_registry* proxies() const {
    return proxies_;
  }

  /// Remembers that `nid`'s data port is `host:port`: the link to it is
  /// dialed when a message first goes there (`find_or_dial`), or at once
  /// when `nid` dials this node, for the answers. Idle pairs of nodes
  /// have no links.
  void learn(const caf::node_id& nid, const std::string& host, uint16_t port);

  /// Dials `nid` at `host:port` unless a link to it exists.
  void open(const caf::node_id& nid, const std::string& host, uint16_t port);

  /// Closes the links to and from `nid` (it is down or left).
  void close(const caf::node_id& nid);

  /// The link to `nid`, if one is open or opening.
  std::shared_ptr<out_link> find(const caf::node_id& nid) const;

  /// The link to `nid`, dialed now if there is none and its data port is
  /// known (frames sent meanwhile wait in it, in order, as in any link
  /// still connecting); null if its port is not known.
  std::shared_ptr<out_link> find_or_dial(const caf::node_id& nid);

  enum class send_result { ok, closed, unencodable };

  /// Appends a frame carrying `what` for actor `dest` on the link's peer.
  /// Blocks while the link holds more than `max_buffer` bytes (except in a
  /// reader thread). Flushes unless the calling thread is corked.
  send_result send(const std::shared_ptr<out_link>& l, uint64_t dest,
                   caf::mailbox_element& what);

  // -- figures ---------------------------------------------------------------

  std::atomic<uint64_t> frames_out{0};
  std::atomic<uint64_t> frames_in{0};
  std::atomic<uint64_t> bad_frames{0};
  std::atomic<uint64_t> waits{0};

  /// Frames and bytes to and from each peer, over the links open now (the
  /// dashboard's flow graph).
  std::vector<link_flow> flows() const;

  /// Flushes every link the calling thread has corked (used by
  /// `cork_scope`).
  static void flush_corked();

private:
  friend class link_reader;
  struct in_link;

  /// How far one step of a dialed link's handshake got.
  enum class dial_step { wait, failed, done };

  // The owner (link.cpp).
  /// A new TLS session for one link (null, logged, if the files no longer
  /// load).
  transport::ssl_ptr new_tls_session();
  void wake();
  /// Whether the test kit cut this node off from `l`'s peer (cuts.hpp).
  bool cut(const out_link& l) const {
    return cuts_ && cuts_->cuts(l.host, l.port);
  }

  // The writer (link_writer.cpp): frames out, corked or not.
  void flush_locked(out_link& l, std::unique_lock<std::mutex>& guard);
  void close_locked(out_link& l);
  /// Closes `l`'s socket (and TLS session) so that it is dialed again.
  void drop_socket(out_link& l);

  // The poller and the dialing state machine (link_dialer.cpp).
  void poll_loop();
  std::vector<std::shared_ptr<out_link>> links() const;
  /// Dials, redials, times out `l`'s handshake; the events to poll its
  /// socket for (0: none).
  short watch(out_link& l, steady_time now);
  void dial(out_link& l, steady_time now);
  /// `l`'s socket is `ready`: flushes, or takes a handshake step.
  void on_ready(out_link& l, const pollfd& ready);
  void advance_dial(out_link& l, short revents,
                    std::unique_lock<std::mutex>& guard);
  dial_step introduce(out_link& l);
  dial_step dial_tls(out_link& l);
  dial_step read_challenge(out_link& l);
  dial_step send_hello(out_link& l);
  dial_step await_ack(out_link& l);

  // The readers (link_reader.cpp, link_delivery.cpp).
  void accept_one();

  caf::actor_system& sys_;
  const uint64_t serial_; // unique in the process (see link_writer.cpp)
  std::weak_ptr<core> core_;
  link_settings cfg_;
  caf::proxy_registry* proxies_ = nullptr;
  bool tls_ = false; // every link is a TLS connection
  const wire::type_registry* types_ = nullptr;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  uint16_t port_ = 0;
  std::string host_;
  std::atomic<bool> stopping_{false};
  std::thread poller_;
  std::unique_ptr<link_loop> loop_; // the reader threads
  std::shared_ptr<transport::net_cuts> cuts_; // the node's, from its endpoint

  mutable std::shared_mutex mtx_;
  std::unordered_map<caf::node_id, std::shared_ptr<out_link>> out_;
  // The data ports of up members (`learn`), dialed on demand.
  std::unordered_map<caf::node_id, std::pair<std::string, uint16_t>> known_;
  std::vector<std::shared_ptr<in_link>> in_;
};

/// Corks the calling thread: frames it sends to other nodes are written
/// when the outermost scope ends (or when a link holds 64 KiB), so that a
/// handler that sends many messages makes one system call. (The actor
/// layer's, which every guarded handler call opens: actor/cork.hpp.)
using cork_scope = detail::cork_scope;

} // namespace troupe::cluster
