// SPDX-License-Identifier: Apache-2.0
#pragma once

// The handshake of a direct link (see `link_layer`), without its I/O: the
// link's poller and reader move the bytes, these say what to send and
// whether the other side passed. Under TLS the TLS handshake comes first,
// and there is no secret (TLS authenticates, as on BASP).
//
//   acceptor → dialer   with a cluster secret: a challenge (32 bytes)
//   dialer → acceptor   its hello frame (link_frame.hpp); with a secret,
//                       the hello ends with transport::link_proof's proof
//   acceptor → dialer   one byte, link_frame::handshake_ok, once the hello
//                       names an up member (or nothing: the dialer redials)

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "cluster/link_frame.hpp"

namespace troupe::cluster {

/// The dialer's side: waits for the challenge (with a secret), then sends
/// its hello, then waits for the acceptor's one byte.
class link_dial_handshake {
public:
  link_dial_handshake() = default;

  /// `secret`: the cluster's (empty: none, or TLS).
  explicit link_dial_handshake(std::string secret);

  /// Bytes of the acceptor's challenge still to come (0 without a secret).
  size_t challenge_left() const;

  /// Takes the next bytes of the challenge (at most `challenge_left()`).
  void take_challenge(const char* data, size_t size);

  /// The hello frame (length prefix, body, proof) saying `me`; once
  /// `challenge_left()` is 0.
  std::vector<char> hello(caf::actor_system& sys,
                          const link_frame::hello& me) const;

  /// Whether the acceptor's byte `ack` accepts this dialer.
  static bool accepted(char ack) {
    return ack == static_cast<char>(link_frame::handshake_ok);
  }

private:
  std::string secret_;
  std::string challenge_;
};

/// The acceptor's side: sends its challenge (with a secret), then takes the
/// dialer's hello frame: its length prefix, then its body.
class link_accept_handshake {
public:
  enum class outcome { more, hello, bad_length, wrong_secret, not_troupe };

  /// Handshake frames longer than this are not a hello (nor shorter than a
  /// kind and the magic).
  static constexpr uint32_t max_hello = 2048;

  /// `secret`: the cluster's (empty: none, or TLS). Draws the challenge.
  explicit link_accept_handshake(std::string secret);

  /// The bytes to send first (empty without a secret).
  const std::string& challenge() const {
    return challenge_;
  }

  /// Bytes the next step needs (0 once the hello is taken).
  size_t wanted() const;

  /// Takes exactly `wanted()` bytes; `ctx` decodes the hello. Anything but
  /// `more` and `hello` ends the handshake (say `why(outcome)`).
  outcome take(caf::execution_unit* ctx, const char* data, size_t size);

  /// The dialer's hello, once `take` returned `hello`.
  const link_frame::hello& peer() const {
    return hello_;
  }

  /// The byte that accepts the dialer (after the caller checked that the
  /// hello names an up member).
  static char ack() {
    return static_cast<char>(link_frame::handshake_ok);
  }

  /// Why a handshake that ended with `x` failed (as the link logs it).
  static const char* why(outcome x);

private:
  std::string secret_;
  std::string challenge_;
  uint32_t length_ = 0; // 0: awaiting the length prefix
  bool done_ = false;
  link_frame::hello hello_;
};

} // namespace troupe::cluster
