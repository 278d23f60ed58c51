// SPDX-License-Identifier: Apache-2.0
#pragma once

// A non-blocking TCP socket, optionally under a TLS session of its own, as
// troupe's direct links use it (cluster/link.hpp): reads and writes that
// answer like recv/send whether TLS is on or not, one step of a TLS
// handshake at a time, and the blocking helpers a handshake uses. CAF's
// BASP connections do not go through here (CAF's openssl module drives
// theirs).

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <caf/expected.hpp>
#include <openssl/ssl.h>

#include "transport/guard.hpp"

namespace troupe::transport {

/// Frees an OpenSSL session.
struct ssl_free {
  void operator()(SSL* x) const noexcept {
    SSL_free(x);
  }
};

using ssl_ptr = std::unique_ptr<SSL, ssl_free>;

/// One TLS context for both ends of a connection: this node's certificate
/// and key, and the cluster's CA, which the peer's certificate must chain
/// to (either way: mutual authentication, as on BASP). Made for one-way
/// streams: the acceptor never writes after the handshake, so it sends no
/// session tickets. Errors read "`who`: what failed: OpenSSL's reason"
/// (defined in tls.cpp, beside the check of the same files).
caf::expected<std::shared_ptr<SSL_CTX>>
make_tls_context(const tls_files& files, std::string_view who);

/// Puts `ssl` on `fd` through a socket BIO that sends with MSG_NOSIGNAL
/// (OpenSSL's own would raise SIGPIPE when the peer has gone). The session
/// owns the BIO; the caller keeps closing `fd`. False if OpenSSL is out of
/// memory.
bool attach_socket(SSL* ssl, int fd);

/// recv on a non-blocking socket, through TLS when `ssl` is set: bytes, 0
/// at the end, -1 with errno (EAGAIN when it would block). OpenSSL's error
/// queue is left empty (it is per thread, and the caller may be any).
ssize_t recv_some(SSL* ssl, int fd, char* data, size_t size);

/// send on a non-blocking socket (never raising SIGPIPE), through TLS when
/// `ssl` is set; answers as `recv_some`. After EAGAIN under TLS, the next
/// call must pass the same bytes again.
ssize_t send_some(SSL* ssl, int fd, const char* data, size_t size);

/// One step of a TLS handshake on a non-blocking socket: 0 once it is
/// done, POLLIN or POLLOUT for what it waits for, -1 if it failed (then
/// `why` says how: OpenSSL's reason, or empty if the peer just closed).
int tls_handshake_step(SSL* ssl, std::string& why);

/// Writes all of `data` within `deadline` (polling when the socket is
/// full).
bool write_all(int fd, SSL* ssl, const char* data, size_t size,
               std::chrono::steady_clock::time_point deadline);

/// Reads exactly `size` bytes within `deadline`.
bool read_all(int fd, SSL* ssl, char* data, size_t size,
              std::chrono::steady_clock::time_point deadline);

/// Turns Nagle's algorithm off on `fd` (setsockopt's result).
int set_nodelay(int fd);

} // namespace troupe::transport
