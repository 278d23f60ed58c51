// SPDX-License-Identifier: Apache-2.0
// The byte stream policy of one connection under CAF's BASP: TLS (CAF's
// openssl session) or plain TCP with troupe's secret challenge first,
// BASP's framing checked on the way in, the guard's budget and the
// network cuts applied. middleman.cpp wraps it in CAF's stream.
#pragma once

#include <sys/socket.h>

#include <cerrno>
#include <memory>
#include <optional>
#include <string>

#include <caf/io/network/native_socket.hpp>
#include <caf/io/network/rw_state.hpp>
#include <caf/openssl/session.hpp>
#include <caf/policy/tcp.hpp>
#include <fmt/format.h>
#include <openssl/err.h>

#include "transport/guard.hpp"
#include "troupe/log.hpp"

namespace troupe::transport::detail {

using caf::io::network::native_socket;
using caf::io::network::rw_state;

inline bool send_all(native_socket fd, const std::string& bytes) {
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

} // namespace troupe::transport::detail
