// SPDX-License-Identifier: Apache-2.0
#pragma once

// The guard in front of CAF's BASP: every connection a node accepts or dials
// passes through it (see middleman.cpp). It bounds what a peer can make the
// node do before it has proven who it is, and what one frame may cost after.
//
// CAF 0.17's BASP itself trusts its peers: a header announcing 4 GiB makes it
// allocate 4 GiB, and a connection that never says anything stays forever.

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "transport/cuts.hpp"

namespace troupe::transport {

/// HMAC-SHA256 of `data` under `key` (32 bytes).
std::string hmac_sha256(const std::string& key, const std::string& data);

/// `size` random bytes from OpenSSL's generator.
std::string random_bytes(size_t size);

/// Takes every entry of this thread's OpenSSL error queue, as one line
/// ("; " between entries); empty if there is none.
std::string openssl_errors();

/// Whether a TLS handshake that failed with `why` (`openssl_errors()`) was
/// only a probe: nothing said, or an EOF before the first TLS record. Not a
/// refusal to count or warn about.
inline bool tls_probe(const std::string& why) {
  return why.empty() || why.find("unexpected eof") != std::string::npos;
}

/// TLS files (PEM). All empty: plaintext.
struct tls_files {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string key_passphrase;
  bool enabled() const {
    return !ca_file.empty() || !cert_file.empty() || !key_file.empty();
  }
};

struct guard_settings {
  /// Largest BASP payload accepted from a peer.
  size_t max_frame = 4 * 1024 * 1024 + 64 * 1024;
  /// Accepted connections alive at once. A connection beyond it displaces
  /// the oldest one still in its handshake; when every one has completed
  /// its handshake, the new one is closed at once.
  size_t max_connections = 512;
  /// Accepted connections in their handshake at once: a new one beyond it
  /// displaces the oldest of them, so idle connections that never say
  /// anything cannot keep members and tools out.
  size_t max_handshaking = 64;
  /// Time a connection has, from accept or connect, to complete its
  /// handshake (troupe's secret challenge or TLS, then BASP's).
  std::chrono::milliseconds handshake_timeout{2000};
  /// Cluster secret for plaintext links (empty: none).
  std::string secret;
  /// TLS with mutual authentication (takes the place of the secret).
  tls_files tls;
};

/// What to do with a newly accepted connection.
enum class admission {
  admit,
  /// Admit it, and close the oldest connection still in its handshake.
  admit_displacing_oldest,
  refuse,
};

/// The guard's decision for a new connection, given the accepted ones
/// alive (`open`, not counting those already displaced) and how many of
/// them are still in their handshake. Pure.
admission admit_decision(size_t open, size_t handshaking,
                         const guard_settings& cfg);

/// Counters of refusals, readable at any time.
struct guard_stats {
  uint64_t accepted = 0;
  uint64_t over_limit = 0;
  /// Connections closed in their handshake to make room for a newer one.
  uint64_t displaced = 0;
  uint64_t oversized_frames = 0;
  uint64_t handshake_timeouts = 0;
  uint64_t auth_failures = 0;
  uint64_t tls_failures = 0;
  uint64_t malformed = 0;
};

/// Follows BASP's framing over a byte stream: a 32-byte header whose bytes
/// 4..7 are the payload's length (big endian), then that many bytes.
class basp_framer {
public:
  static constexpr size_t header_size = 32;

  explicit basp_framer(size_t max_frame) : max_(max_frame) {}

  /// Takes the next bytes of the stream; false when a header announces more
  /// than the bound (the stream must then be closed: nothing was allocated).
  bool feed(const char* data, size_t size);

  /// Complete frames (header and payload) seen so far.
  uint64_t frames() const { return frames_; }

  /// The length the refused header announced.
  uint32_t announced() const { return announced_; }

private:
  size_t max_;
  std::array<unsigned char, header_size> hdr_{};
  size_t have_ = 0;
  uint64_t payload_left_ = 0;
  uint64_t frames_ = 0;
  uint32_t announced_ = 0;
};

/// troupe's challenge-response on a plaintext connection: each side sends a
/// hello ("TRPA", version, 32 random bytes), then proves with
/// HMAC-SHA256(secret, role || peer's nonce || own nonce) that it knows the
/// secret. The secret never crosses the wire; a proof is bound to both
/// nonces and to the sender's role, so it cannot be replayed or reflected.
/// Authenticates; does not encrypt.
class secret_handshake {
public:
  static constexpr size_t nonce_size = 32;
  static constexpr size_t hello_size = 5 + nonce_size;
  static constexpr size_t proof_size = 32;

  enum class outcome { more, send_proof, done, not_troupe, wrong_secret };

  secret_handshake(std::string secret, bool acceptor);

  /// The bytes to send first.
  std::string hello() const;

  /// Bytes the next step needs (0 once done).
  size_t wanted() const;

  /// Takes exactly `wanted()` bytes.
  outcome take(const char* data, size_t size);

  /// This side's proof; valid after `take` returned `send_proof`.
  std::string proof() const;

private:
  std::string mac(char role, const std::string& first,
                  const std::string& second) const;

  std::string secret_;
  bool acceptor_;
  std::string nonce_;
  std::string peer_nonce_;
  int step_ = 0; // 0: await hello, 1: await proof, 2: done
};

/// The one-way proof of troupe's direct links (cluster/link_handshake.hpp):
/// the acceptor sends `challenge_size` random bytes, and the dialer's hello
/// ends with HMAC-SHA256(secret, "troupe-link" || challenge || the hello's
/// bytes before the proof). The secret never crosses the wire; the proof is
/// bound to the acceptor's challenge (no replay) and to what the hello says
/// (no splicing). One-way: only the dialer proves itself (it dials the
/// address a member advertised over BASP, whose own handshake is
/// `secret_handshake`). Its bytes are not `secret_handshake`'s, and stay
/// as they were, so that nodes of earlier versions keep linking.
struct link_proof {
  static constexpr size_t challenge_size = 32;
  static constexpr size_t proof_size = 32;

  /// A fresh challenge (`challenge_size` random bytes).
  static std::string challenge();

  /// The dialer's proof for `bound` (the hello, without the proof).
  static std::string prove(const std::string& secret,
                           const std::string& challenge, const char* bound,
                           size_t size);

  /// Whether `data` (`size` bytes) ends with the proof of what precedes
  /// it; compares in constant time.
  static bool check(const std::string& secret, const std::string& challenge,
                    const char* data, size_t size);
};

/// Shared by all of a node's guarded connections.
class guard {
public:
  explicit guard(guard_settings cfg);
  ~guard();

  guard(const guard&) = delete;
  guard& operator=(const guard&) = delete;

  const guard_settings& settings() const { return cfg_; }

  /// An accepted connection: false (and counted) when over the limit
  /// (see `admit_decision`); may close the oldest connection still in its
  /// handshake to make room.
  bool admit(const std::string& peer);
  /// An accepted connection went away.
  void release();

  /// Starts the handshake deadline of connection `fd` (`accepted` by this
  /// node, or dialed); when it passes, the connection is shut down (the
  /// multiplexer then sees it close).
  uint64_t track(int fd, std::string peer, bool accepted);
  /// The handshake completed or the connection went away.
  void untrack(uint64_t ticket);

  void count_oversized() { ++oversized_; }
  void count_auth_failure() { ++auth_failures_; }
  void count_tls_failure() { ++tls_failures_; }
  void count_malformed() { ++malformed_; }

  guard_stats stats() const;

  /// The node's network cuts (a test hook, see cuts.hpp); shared with its
  /// direct links.
  const std::shared_ptr<net_cuts>& cuts() const {
    return cuts_;
  }

private:
  struct pending {
    int fd;
    std::string peer;
    std::chrono::steady_clock::time_point deadline;
    bool accepted;
    bool displaced = false; // shut down; its owner untracks it
  };

  void sweep();

  guard_settings cfg_;
  std::atomic<size_t> open_{0};
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> over_limit_{0};
  std::atomic<uint64_t> displaced_{0};
  size_t displacing_ = 0; // entries displaced, not yet untracked (mtx_)
  std::atomic<uint64_t> oversized_{0};
  std::atomic<uint64_t> timeouts_{0};
  std::atomic<uint64_t> auth_failures_{0};
  std::atomic<uint64_t> tls_failures_{0};
  std::atomic<uint64_t> malformed_{0};
  std::mutex mtx_;
  std::condition_variable cv_;
  std::map<uint64_t, pending> pending_;
  uint64_t next_ticket_ = 1;
  bool stopping_ = false;
  std::thread sweeper_;
  std::shared_ptr<net_cuts> cuts_ = std::make_shared<net_cuts>();
};

} // namespace troupe::transport
