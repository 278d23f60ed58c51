// SPDX-License-Identifier: Apache-2.0
// Who may join over TLS: certificates of the cluster's CA, nothing else;
// and a TLS configuration that is half there stops a node at startup
// (security_common.hpp).
#include "security_common.hpp"

using namespace troupe::test::security;

namespace {

// -- TLS ----------------------------------------------------------------------

// Two development CAs: the cluster's and another one.
struct dev_cas {
  std::filesystem::path dir;
  dev_cas() {
    dir = std::filesystem::temp_directory_path()
          / ("troupe-tls-" + std::to_string(::getpid()));
    auto script = std::string{TROUPE_SOURCE_DIR} + "/tools/tls/make-dev-ca";
    auto ok = std::system((script + " " + (dir / "cluster").string()
                           + " a b c >/dev/null && " + script + " "
                           + (dir / "other").string() + " x >/dev/null")
                            .c_str());
    if (ok != 0)
      throw std::runtime_error("make-dev-ca failed");
  }
  ~dev_cas() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  security_settings of(const std::string& ca, const std::string& name) const {
    auto d = dir / ca;
    return {{},
            (d / "ca.pem").string(),
            (d / (name + ".pem")).string(),
            (d / (name + ".key")).string()};
  }
};

const dev_cas& cas() {
  static dev_cas instance;
  return instance;
}

struct Tls : guarded_pair {
  Tls()
    : guarded_pair(cas().of("cluster", "a"), cas().of("cluster", "b")) {
  }
};

TEST_F(Tls, NodesWithCertificatesOfTheClusterCaFormACluster) {
  expect_cluster_unaffected(a, *b);
  // The direct links are TLS connections too: the request took one.
  expect_ref_echo(*b, a);
  EXPECT_GE(b->cluster_statistics().link_frames_out, 1u);
  EXPECT_GE(a.cluster_statistics().link_frames_in, 1u);
  EXPECT_EQ(a.cluster_statistics().link_bad_frames, 0u);
}

TEST_F(Tls, TheDataPortRefusesAPlaintextHello) {
  expect_ref_echo(*b, a);
  raw_peer peer{a.link_port()};
  ASSERT_GE(peer.fd, 0);
  // What a plaintext node's link says first: a length and troupe's hello.
  std::string hello = std::string{"\0\0\0\x28\x01TRP1", 10}
                      + std::string(35, '\0');
  auto bad_before = a.cluster_statistics().link_bad_frames;
  ASSERT_TRUE(peer.write(hello));
  EXPECT_LT(closed(peer), 1s);
  EXPECT_EQ(a.cluster_statistics().link_bad_frames, bad_before + 1);
  expect_cluster_unaffected(a, *b);
  expect_ref_echo(*b, a);
}

TEST_F(Tls, ASilentPeerOnTheDataPortIsDroppedWhileOthersAreServed) {
  expect_ref_echo(*b, a);
  auto bad_before = a.cluster_statistics().link_bad_frames;
  raw_peer silent{a.link_port()};
  ASSERT_GE(silent.fd, 0);
  // Its TLS handshake never starts; the node serves b meanwhile and drops
  // it after the handshake timeout (2 s; 5 s: safety net).
  expect_ref_echo(*b, a);
  EXPECT_TRUE(silent.closed_by_peer(5s));
  EXPECT_EQ(a.cluster_statistics().link_bad_frames, bad_before + 1);
  expect_ref_echo(*b, a);
}

// A TLS client with a certificate of another CA (that does not check the
// node's certificate itself, so that the node's check is what refuses it).
TEST_F(Tls, TheDataPortRefusesACertificateOfAnotherCa) {
  expect_ref_echo(*b, a);
  auto x = cas().of("other", "x");
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{
    SSL_CTX_new(TLS_client_method()), SSL_CTX_free};
  ASSERT_TRUE(ctx);
  ASSERT_EQ(SSL_CTX_use_certificate_chain_file(ctx.get(), x.cert.c_str()), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey_file(ctx.get(), x.key.c_str(),
                                        SSL_FILETYPE_PEM),
            1);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  raw_peer peer{a.link_port()};
  ASSERT_GE(peer.fd, 0);
  // The node may close while this client still writes: no SIGPIPE for this
  // thread (the node's own threads see to theirs).
  sigset_t sigpipe;
  sigemptyset(&sigpipe);
  sigaddset(&sigpipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &sigpipe, nullptr);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl{SSL_new(ctx.get()), SSL_free};
  SSL_set_fd(ssl.get(), peer.fd);
  auto bad_before = a.cluster_statistics().link_bad_frames;
  auto start = steady::now();
  // Blocking socket: under TLS 1.3 the client may finish its side before
  // the node has checked its certificate; the node's refusal then ends the
  // first read.
  if (SSL_connect(ssl.get()) == 1) {
    char byte;
    EXPECT_LE(SSL_read(ssl.get(), &byte, 1), 0);
  }
  ERR_clear_error();
  // The node's alert can arrive before it counted the refusal; it closes
  // the socket after.
  closed(peer);
  timespec zero{};
  while (sigtimedwait(&sigpipe, nullptr, &zero) > 0) {
  }
  pthread_sigmask(SIG_UNBLOCK, &sigpipe, nullptr);
  EXPECT_LT(steady::now() - start, 1s);
  EXPECT_EQ(a.cluster_statistics().link_bad_frames, bad_before + 1);
  expect_cluster_unaffected(a, *b);
  expect_ref_echo(*b, a);
}

TEST_F(Tls, APlaintextPeerIsRefusedWithinASecond) {
  troupe::node c{config("c", {})};
  serve(c);
  expect_refused(c, a.port());
  expect_cluster_unaffected(a, *b);
  c.shutdown();
}

TEST_F(Tls, APeerWithACertificateOfAnotherCaIsRefusedWithinASecond) {
  troupe::node x{config("x", cas().of("other", "x"))};
  serve(x);
  expect_refused(x, a.port());
  // Whichever end checked the other's certificate first counted it.
  EXPECT_GE(a.cluster_statistics().refused_tls
              + x.cluster_statistics().refused_tls,
            1u);
  expect_cluster_unaffected(a, *b);
  x.shutdown();
}

TEST_F(Tls, APeerWithTheSecretButNoCertificateIsRefused) {
  troupe::node c{config("c", {"open sesame", {}, {}, {}})};
  serve(c);
  expect_refused(c, a.port());
  c.shutdown();
}

TEST(TlsConfig, MisconfigurationsAreClearStartupErrors) {
  auto good = cas().of("cluster", "a");
  auto other = cas().of("other", "x");
  struct bad_case {
    security_settings s;
    std::string says;
  };
  std::vector<bad_case> cases{
    {{{}, good.ca, {}, {}}, "missing: --tls-cert, --tls-key"},
    {{{}, {}, good.cert, good.key}, "missing: --tls-ca"},
    {{{}, good.ca, good.cert, "/nonexistent/a.key"}, "cannot read TLS file"},
    {{{}, good.ca, good.cert, other.key}, "does not belong to the certificate"},
    {{{}, good.ca, other.cert, other.key}, "is not valid under the CA"},
    {{{}, good.ca, good.key, good.key}, "is not a PEM certificate"},
  };
  for (auto& c : cases) {
    troupe::node n{config("n", c.s)};
    auto err = n.start();
    ASSERT_TRUE(err) << c.says;
    EXPECT_EQ(err.code(), static_cast<uint8_t>(troupe::errc::bad_config));
    EXPECT_NE(troupe::describe(err).find(c.says), std::string::npos)
      << troupe::describe(err);
  }
}

TEST(TlsConfig, ANodeProcessWithHalfATlsConfigExitsAtOnce) {
  auto good = cas().of("cluster", "a");
  child_process n{{program("troupe_test_node"), "--tls-ca", good.ca}};
  auto code = n.wait_exit(10s);
  ASSERT_TRUE(code) << "the node hangs:\n" << n.output();
  EXPECT_NE(*code, 0);
  EXPECT_TRUE(n.wait_for_line("missing: --tls-cert, --tls-key", 1s))
    << n.output();
}

} // namespace
