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

/// One incoming link, read by its own thread from accept to close.
class link_reader {
public:
  using in_link = link_layer::in_link;

  /// The thread's body.
  static void run(link_layer& layer, std::shared_ptr<in_link> l);

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
  void read_frames();
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
