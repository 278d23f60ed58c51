// SPDX-License-Identifier: Apache-2.0
#include "transport/guard.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "troupe/log.hpp"

namespace troupe::transport {

std::string hmac_sha256(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
       &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string openssl_errors() {
  std::string out;
  while (auto code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    if (!out.empty())
      out += "; ";
    out += buf;
  }
  return out;
}

std::string random_bytes(size_t size) {
  std::string out(size, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                 static_cast<int>(out.size()))
      != 1)
    throw std::runtime_error("OpenSSL has no randomness to give");
  return out;
}

// -- basp_framer -------------------------------------------------------------

bool basp_framer::feed(const char* data, size_t size) {
  while (size > 0) {
    if (payload_left_ > 0) {
      auto n = static_cast<size_t>(std::min<uint64_t>(payload_left_, size));
      payload_left_ -= n;
      data += n;
      size -= n;
      if (payload_left_ == 0)
        ++frames_;
      continue;
    }
    auto n = std::min(header_size - have_, size);
    std::memcpy(hdr_.data() + have_, data, n);
    have_ += n;
    data += n;
    size -= n;
    if (have_ < header_size)
      break;
    have_ = 0;
    uint32_t len = (uint32_t{hdr_[4]} << 24) | (uint32_t{hdr_[5]} << 16)
                   | (uint32_t{hdr_[6]} << 8) | uint32_t{hdr_[7]};
    if (len > max_) {
      announced_ = len;
      return false;
    }
    payload_left_ = len;
    if (len == 0)
      ++frames_;
  }
  return true;
}

// -- secret_handshake --------------------------------------------------------

namespace {

constexpr char hello_magic[] = {'T', 'R', 'P', 'A', 1};

} // namespace

secret_handshake::secret_handshake(std::string secret, bool acceptor)
  : secret_(std::move(secret)),
    acceptor_(acceptor),
    nonce_(random_bytes(nonce_size)) {
}

std::string secret_handshake::hello() const {
  return std::string(hello_magic, sizeof(hello_magic)) + nonce_;
}

size_t secret_handshake::wanted() const {
  switch (step_) {
    case 0:
      return hello_size;
    case 1:
      return proof_size;
    default:
      return 0;
  }
}

std::string secret_handshake::mac(char role, const std::string& first,
                                  const std::string& second) const {
  return hmac_sha256(secret_,
                     std::string("troupe-auth-") + role + first + second);
}

std::string secret_handshake::proof() const {
  return mac(acceptor_ ? 'A' : 'D', peer_nonce_, nonce_);
}

secret_handshake::outcome secret_handshake::take(const char* data,
                                                 size_t size) {
  if (size != wanted())
    return outcome::more;
  if (step_ == 0) {
    if (std::memcmp(data, hello_magic, sizeof(hello_magic)) != 0)
      return outcome::not_troupe;
    peer_nonce_.assign(data + sizeof(hello_magic), nonce_size);
    step_ = 1;
    return outcome::send_proof;
  }
  auto expected = mac(acceptor_ ? 'D' : 'A', nonce_, peer_nonce_);
  if (expected.size() != size || CRYPTO_memcmp(expected.data(), data, size) != 0)
    return outcome::wrong_secret;
  step_ = 2;
  return outcome::done;
}

// -- link_proof --------------------------------------------------------------

std::string link_proof::challenge() {
  return random_bytes(challenge_size);
}

std::string link_proof::prove(const std::string& secret,
                              const std::string& challenge, const char* bound,
                              size_t size) {
  return hmac_sha256(secret,
                     "troupe-link" + challenge + std::string(bound, size));
}

bool link_proof::check(const std::string& secret, const std::string& challenge,
                       const char* data, size_t size) {
  if (size <= proof_size)
    return false;
  auto at = size - proof_size;
  auto mac = prove(secret, challenge, data, at);
  return CRYPTO_memcmp(mac.data(), data + at, proof_size) == 0;
}

// -- guard -------------------------------------------------------------------

guard::guard(guard_settings cfg) : cfg_(std::move(cfg)) {
  sweeper_ = std::thread{[this] { sweep(); }};
}

guard::~guard() {
  {
    std::lock_guard<std::mutex> lock{mtx_};
    stopping_ = true;
  }
  cv_.notify_all();
  sweeper_.join();
}

admission admit_decision(size_t open, size_t handshaking,
                         const guard_settings& cfg) {
  if (open < cfg.max_connections && handshaking < cfg.max_handshaking)
    return admission::admit;
  return handshaking > 0 ? admission::admit_displacing_oldest
                         : admission::refuse;
}

bool guard::admit(const std::string& peer) {
  std::lock_guard<std::mutex> lock{mtx_};
  size_t handshaking = 0;
  auto oldest = pending_.end();
  for (auto i = pending_.begin(); i != pending_.end(); ++i)
    if (i->second.accepted && !i->second.displaced) {
      ++handshaking;
      if (oldest == pending_.end())
        oldest = i; // tickets grow: the first is the oldest
    }
  auto open = open_.load() - std::min(open_.load(), displacing_);
  switch (admit_decision(open, handshaking, cfg_)) {
    case admission::refuse:
      ++over_limit_;
      log(log_level::warn,
          fmt::format("refused a connection from {}: {} connections are open "
                      "and past their handshake (max-connections)",
                      peer, open));
      return false;
    case admission::admit_displacing_oldest:
      ++displaced_;
      ++displacing_;
      oldest->second.displaced = true;
      log(log_level::warn,
          fmt::format("closed the connection with {} (still in its "
                      "handshake) to make room for one from {} "
                      "(max-connections {}, max-handshaking {})",
                      oldest->second.peer, peer, cfg_.max_connections,
                      cfg_.max_handshaking));
      ::shutdown(oldest->second.fd, SHUT_RDWR);
      break;
    case admission::admit:
      break;
  }
  ++open_;
  ++accepted_;
  return true;
}

void guard::release() {
  --open_;
}

uint64_t guard::track(int fd, std::string peer, bool accepted) {
  std::lock_guard<std::mutex> lock{mtx_};
  auto ticket = next_ticket_++;
  pending_.emplace(ticket,
                   pending{fd, std::move(peer),
                           std::chrono::steady_clock::now()
                             + cfg_.handshake_timeout,
                           accepted});
  cv_.notify_all();
  return ticket;
}

void guard::untrack(uint64_t ticket) {
  std::lock_guard<std::mutex> lock{mtx_};
  auto i = pending_.find(ticket);
  if (i == pending_.end())
    return;
  if (i->second.displaced)
    --displacing_;
  pending_.erase(i);
}

// Entries leave the map before their socket is closed (the policy that owns
// the socket untracks in its destructor, under this mutex), so a shut-down
// descriptor is always the connection it was tracked for.
void guard::sweep() {
  std::unique_lock<std::mutex> lock{mtx_};
  while (!stopping_) {
    if (pending_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto now = std::chrono::steady_clock::now();
    auto next = std::chrono::steady_clock::time_point::max();
    for (auto i = pending_.begin(); i != pending_.end();) {
      if (i->second.displaced) {
        ++i; // already shut down; its owner untracks it
      } else if (i->second.deadline <= now) {
        ++timeouts_;
        log(log_level::warn,
            fmt::format("closed the connection with {}: no handshake within "
                        "{} ms",
                        i->second.peer, cfg_.handshake_timeout.count()));
        ::shutdown(i->second.fd, SHUT_RDWR);
        i = pending_.erase(i);
      } else {
        next = std::min(next, i->second.deadline);
        ++i;
      }
    }
    if (next != std::chrono::steady_clock::time_point::max())
      cv_.wait_until(lock, next);
  }
}

guard_stats guard::stats() const {
  guard_stats s;
  s.accepted = accepted_;
  s.over_limit = over_limit_;
  s.displaced = displaced_;
  s.oversized_frames = oversized_;
  s.handshake_timeouts = timeouts_;
  s.auth_failures = auth_failures_;
  s.tls_failures = tls_failures_;
  s.malformed = malformed_;
  return s;
}

} // namespace troupe::transport
