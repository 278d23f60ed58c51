// SPDX-License-Identifier: Apache-2.0
#include "transport/tls_socket.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>

#include <openssl/err.h>

namespace troupe::transport {

namespace {

using steady = std::chrono::steady_clock;

/// Maps the result `r` of an OpenSSL read or write on a non-blocking socket
/// to what recv/send say: bytes, 0 at the end, -1 with errno (EAGAIN when it
/// would block). OpenSSL's error queue is per thread, and a link's thread
/// may be any sender's: it is left empty.
ssize_t tls_result(SSL* ssl, int r) {
  if (r > 0)
    return r;
  auto code = SSL_get_error(ssl, r);
  ERR_clear_error();
  switch (code) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      return 0;
    default:
      errno = ECONNRESET;
      return -1;
  }
}

/// The socket under a TLS session: OpenSSL's socket BIO writes with
/// write(2), which raises SIGPIPE (ending the process) when the peer has
/// gone; this one sends with MSG_NOSIGNAL, as the plaintext links do. The
/// socket is the BIO's data; its owner closes it.
int bio_write(BIO* b, const char* data, int size) {
  auto fd = static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(b)));
  BIO_clear_retry_flags(b);
  auto n = ::send(fd, data, static_cast<size_t>(size),
                  MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    BIO_set_retry_write(b);
  return static_cast<int>(n);
}

int bio_read(BIO* b, char* data, int size) {
  auto fd = static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(b)));
  BIO_clear_retry_flags(b);
  auto n = ::recv(fd, data, static_cast<size_t>(size), MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    BIO_set_retry_read(b);
  if (n == 0)
    BIO_set_flags(b, BIO_FLAGS_IN_EOF); // OpenSSL asks: an unexpected EOF?
  return static_cast<int>(n);
}

long bio_ctrl(BIO* b, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_EOF:
      return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
    default:
      return 0;
  }
}

/// A BIO on `fd` (its method made once, shared by all).
BIO* socket_bio(int fd) {
  static BIO_METHOD* method = [] {
    auto m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                          "troupe link socket");
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    return m;
  }();
  auto b = BIO_new(method);
  if (b != nullptr) {
    BIO_set_data(b, reinterpret_cast<void*>(static_cast<intptr_t>(fd)));
    BIO_set_init(b, 1);
  }
  return b;
}

/// Milliseconds left until `deadline` (0 or less: none).
long ms_left(steady::time_point deadline) {
  return static_cast<long>(
    std::chrono::duration_cast<std::chrono::milliseconds>(deadline
                                                          - steady::now())
      .count());
}

} // namespace

bool attach_socket(SSL* ssl, int fd) {
  auto b = socket_bio(fd);
  if (b == nullptr)
    return false;
  SSL_set_bio(ssl, b, b); // the session owns the one reference
  return true;
}

ssize_t recv_some(SSL* ssl, int fd, char* data, size_t size) {
  if (ssl == nullptr)
    return ::recv(fd, data, size, MSG_DONTWAIT);
  ERR_clear_error();
  return tls_result(ssl, SSL_read(ssl, data,
                                  static_cast<int>(std::min<size_t>(size,
                                                                    INT_MAX))));
}

ssize_t send_some(SSL* ssl, int fd, const char* data, size_t size) {
  if (ssl == nullptr)
    return ::send(fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
  ERR_clear_error();
  return tls_result(ssl, SSL_write(ssl, data,
                                   static_cast<int>(std::min<size_t>(size,
                                                                     INT_MAX))));
}

int tls_handshake_step(SSL* ssl, std::string& why) {
  ERR_clear_error();
  auto r = SSL_do_handshake(ssl);
  if (r == 1)
    return 0;
  auto code = SSL_get_error(ssl, r);
  why = openssl_errors();
  if (code == SSL_ERROR_WANT_READ)
    return POLLIN;
  if (code == SSL_ERROR_WANT_WRITE)
    return POLLOUT;
  return -1;
}

bool write_all(int fd, SSL* ssl, const char* data, size_t size,
               steady::time_point deadline) {
  while (size > 0) {
    auto n = send_some(ssl, fd, data, size);
    if (n > 0) {
      data += n;
      size -= static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      auto left = ms_left(deadline);
      if (left <= 0)
        return false;
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, static_cast<int>(left));
      continue;
    }
    return false;
  }
  return true;
}

bool read_all(int fd, SSL* ssl, char* data, size_t size,
              steady::time_point deadline) {
  while (size > 0) {
    auto n = recv_some(ssl, fd, data, size);
    if (n > 0) {
      data += n;
      size -= static_cast<size_t>(n);
      continue;
    }
    if (n == 0)
      return false;
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      return false;
    auto left = ms_left(deadline);
    if (left <= 0)
      return false;
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(left));
  }
  return true;
}

int set_nodelay(int fd) {
  int one = 1;
  return ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

} // namespace troupe::transport
