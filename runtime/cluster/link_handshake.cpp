// SPDX-License-Identifier: Apache-2.0
#include "cluster/link_handshake.hpp"

#include <algorithm>

#include "transport/guard.hpp"

namespace troupe::cluster {

using transport::link_proof;

// -- link_dial_handshake -------------------------------------------------------

link_dial_handshake::link_dial_handshake(std::string secret)
  : secret_(std::move(secret)) {
}

size_t link_dial_handshake::challenge_left() const {
  return secret_.empty() ? 0 : link_proof::challenge_size - challenge_.size();
}

void link_dial_handshake::take_challenge(const char* data, size_t size) {
  challenge_.append(data, std::min(size, challenge_left()));
}

std::vector<char>
link_dial_handshake::hello(caf::actor_system& sys,
                           const link_frame::hello& me) const {
  std::vector<char> out(4, 0);
  link_frame::encode_hello(sys, me, out);
  if (!secret_.empty()) {
    auto mac = link_proof::prove(secret_, challenge_, out.data() + 4,
                                 out.size() - 4);
    out.insert(out.end(), mac.begin(), mac.end());
  }
  link_frame::put_length(out.data(), static_cast<uint32_t>(out.size() - 4));
  return out;
}

// -- link_accept_handshake -----------------------------------------------------

link_accept_handshake::link_accept_handshake(std::string secret)
  : secret_(std::move(secret)) {
  if (!secret_.empty())
    challenge_ = link_proof::challenge();
}

size_t link_accept_handshake::wanted() const {
  if (done_)
    return 0;
  return length_ == 0 ? 4 : length_;
}

link_accept_handshake::outcome
link_accept_handshake::take(caf::execution_unit* ctx, const char* data,
                            size_t size) {
  if (done_ || size != wanted())
    return outcome::more;
  if (length_ == 0) {
    auto len = link_frame::get_length(data);
    if (len < 5 || len > max_hello) {
      done_ = true;
      return outcome::bad_length;
    }
    length_ = len;
    return outcome::more;
  }
  done_ = true;
  if (!secret_.empty()) {
    if (!link_proof::check(secret_, challenge_, data, size))
      return outcome::wrong_secret;
    size -= link_proof::proof_size;
  }
  if (!link_frame::parse_hello(ctx, data, size, hello_))
    return outcome::not_troupe;
  return outcome::hello;
}

const char* link_accept_handshake::why(outcome x) {
  switch (x) {
    case outcome::bad_length:
      return "bad handshake length";
    case outcome::wrong_secret:
      return "it does not know this cluster's secret";
    case outcome::not_troupe:
      return "not a troupe link handshake";
    default:
      return "incomplete handshake";
  }
}

} // namespace troupe::cluster
