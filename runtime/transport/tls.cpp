// SPDX-License-Identifier: Apache-2.0
#include <cstdio>
#include <memory>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "transport/endpoint.hpp"
#include "transport/tls_socket.hpp"
#include "troupe/error.hpp"

namespace troupe::transport {

namespace {

caf::error bad(std::string what) {
  return make_error(errc::bad_config, std::move(what));
}

std::string ssl_reason() {
  auto code = ERR_get_error();
  ERR_clear_error();
  if (code == 0)
    return "unknown reason";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

int passphrase_cb(char* buf, int size, int, void* user) {
  auto& pass = *static_cast<const std::string*>(user);
  auto n = std::min(static_cast<int>(pass.size()), size);
  std::copy(pass.begin(), pass.begin() + n, buf);
  return n;
}

bool is_private_key(const std::string& path, std::string& pass) {
  auto fp = std::fopen(path.c_str(), "r");
  if (fp == nullptr)
    return false;
  auto key = PEM_read_PrivateKey(fp, nullptr, passphrase_cb, &pass);
  std::fclose(fp);
  EVP_PKEY_free(key);
  return key != nullptr;
}

} // namespace

caf::error check_tls(const tls_files& f) {
  if (!f.enabled())
    return caf::none;
  std::string missing;
  for (auto [flag, value] : {std::pair{"--tls-ca", &f.ca_file},
                             std::pair{"--tls-cert", &f.cert_file},
                             std::pair{"--tls-key", &f.key_file}})
    if (value->empty())
      missing += missing.empty() ? flag : std::string(", ") + flag;
  if (!missing.empty())
    return bad(fmt::format("TLS needs a CA, a certificate and a key; missing: "
                           "{}",
                           missing));
  for (auto* path : {&f.ca_file, &f.cert_file, &f.key_file})
    if (auto fp = std::fopen(path->c_str(), "r"); fp != nullptr)
      std::fclose(fp);
    else
      return bad(fmt::format("cannot read TLS file '{}'", *path));
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{
    SSL_CTX_new(TLS_method()), SSL_CTX_free};
  if (!ctx)
    return bad("cannot set up TLS: " + ssl_reason());
  auto pass = f.key_passphrase;
  SSL_CTX_set_default_passwd_cb(ctx.get(), passphrase_cb);
  SSL_CTX_set_default_passwd_cb_userdata(ctx.get(), &pass);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), f.cert_file.c_str()) != 1)
    return bad(fmt::format("'{}' is not a PEM certificate: {}", f.cert_file,
                           ssl_reason()));
  if (!is_private_key(f.key_file, pass))
    return bad(fmt::format("'{}' is not a PEM private key (or its passphrase "
                           "is wrong): {}",
                           f.key_file, ssl_reason()));
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), f.key_file.c_str(),
                                  SSL_FILETYPE_PEM)
        != 1
      || SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    return bad(fmt::format("the key '{}' does not belong to the certificate "
                           "'{}'",
                           f.key_file, f.cert_file));
  }
  if (SSL_CTX_load_verify_locations(ctx.get(), f.ca_file.c_str(), nullptr)
      != 1)
    return bad(fmt::format("'{}' is not a PEM CA certificate: {}", f.ca_file,
                           ssl_reason()));
  // The node's own certificate must be one its peers (same CA) accept.
  auto store = SSL_CTX_get_cert_store(ctx.get());
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> vctx{
    X509_STORE_CTX_new(), X509_STORE_CTX_free};
  auto cert = SSL_CTX_get0_certificate(ctx.get());
  if (!vctx || X509_STORE_CTX_init(vctx.get(), store, cert, nullptr) != 1)
    return bad("cannot check the certificate: " + ssl_reason());
  if (X509_verify_cert(vctx.get()) != 1)
    return bad(fmt::format(
      "the certificate '{}' is not valid under the CA '{}': {}", f.cert_file,
      f.ca_file,
      X509_verify_cert_error_string(X509_STORE_CTX_get_error(vctx.get()))));
  ERR_clear_error();
  return caf::none;
}

caf::expected<std::shared_ptr<SSL_CTX>>
make_tls_context(const tls_files& files, std::string_view who) {
  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx{SSL_CTX_new(TLS_method()), SSL_CTX_free};
  auto fail = [&](const std::string& what) {
    return make_error(errc::bad_config,
                      fmt::format("{}: {}: {}", who, what, openssl_errors()));
  };
  if (!ctx)
    return fail("cannot make a TLS context");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (!files.key_passphrase.empty())
    SSL_CTX_set_default_passwd_cb_userdata(
      ctx.get(), const_cast<char*>(files.key_passphrase.c_str()));
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), files.cert_file.c_str())
      != 1)
    return fail("cannot load certificate " + files.cert_file);
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), files.key_file.c_str(),
                                  SSL_FILETYPE_PEM)
      != 1)
    return fail("cannot load key " + files.key_file);
  if (SSL_CTX_load_verify_locations(ctx.get(), files.ca_file.c_str(), nullptr)
      != 1)
    return fail("cannot load CA " + files.ca_file);
  SSL_CTX_set_verify(ctx.get(),
                     SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     nullptr);
  // A link is one-way after its handshake: the acceptor never writes, so it
  // sends no session tickets either (nothing would read them).
  SSL_CTX_set_num_tickets(ctx.get(), 0);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE
                                | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx;
}

} // namespace troupe::transport
