// SPDX-License-Identifier: Apache-2.0
#pragma once

// The reading side of one incoming direct link (see `link_layer`), shared
// by link_reader.cpp (accept, handshake, framing) and link_delivery.cpp
// (what each frame becomes: a message to an actor, from a mirror).

#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>
#include <caf/weak_intrusive_ptr.hpp>

#include "cluster/link.hpp"
#include "cluster/link_detail.hpp"
#include "cluster/link_frame.hpp"
#include "cluster/link_inline_unit.hpp"

namespace troupe::cluster {

/// One incoming link: its handshake on a short-lived thread of its own
/// (it may wait for the daemon), then its frames read by the thread of the
/// node's `link_loop` that adopted it, until it closes.
class link_reader {
public:
  using in_link = link_layer::in_link;

  /// The handshake thread's body: on success it hands the link to the
  /// layer's loop and ends.
  static void run(link_layer& layer, std::shared_ptr<in_link> l);

  /// What one `read_some` found.
  struct outcome {
    bool data = false;   // it read bytes
    bool more = false;   // it stopped at `max_reads`: read it again soon
    bool closed = false; // the link is done: `finish` it
  };

  /// Reads what the socket has (at most `max_reads` reads) and delivers
  /// the complete frames, in order. In the loop's thread only.
  outcome read_some(size_t max_reads);

  /// Retires the link's mirrors and closes its socket (the last call).
  void finish();

  int fd() const {
    return l_->fd;
  }

  /// The loop's round that last read it (link_loop.cpp).
  uint64_t round = 0;

private:
  link_reader(link_layer& layer, std::shared_ptr<in_link> l,
              std::shared_ptr<core> c);

  // -- handshake ----------------------------------------------------------
  bool handshake();
  bool tls_handshake(link_detail::steady::time_point deadline);
  /// The dialer's hello named `hi`: accepts it if it is an up member (by
  /// the handshake's `deadline`).
  bool admit(const link_frame::hello& hi,
             link_detail::steady::time_point deadline);
  /// Whether `nid`, which sent a link hello, is an up member, waiting
  /// (bounded by `deadline`) for this node's daemon to take it in.
  bool await_member(const caf::node_id& nid,
                    link_detail::steady::time_point deadline) const;

  // -- frames -------------------------------------------------------------
  /// Delivers the complete frames buffered; false if one is malformed.
  bool take_frames();
  bool deliver(const char* data, size_t size);
  caf::strong_actor_ptr sender_of(const link_frame::message& f);
  caf::strong_actor_ptr target_of(caf::actor_id dest);
  /// The mirror of the peer's actor `aid` (made once per link).
  caf::strong_actor_ptr mirror(caf::actor_id aid);
  void retire_mirrors();

  /// Counts and logs why the connection goes.
  void drop(const std::string& why);

  link_layer& layer_;
  caf::actor_system& sys_;
  std::shared_ptr<in_link> l_;
  std::shared_ptr<core> core_;
  link_inline_unit unit_;
  uint32_t max_frame_;
  std::vector<char> rb_; // received, not yet delivered: rb_[0, have_)
  size_t have_ = 0;
  std::unordered_map<caf::actor_id, caf::strong_actor_ptr> mirrors_;
  // The last destination, so that a stream of frames to one actor looks
  // it up once.
  caf::actor_id last_dest_ = caf::invalid_actor_id;
  caf::weak_actor_ptr last_target_;
};

} // namespace troupe::cluster
