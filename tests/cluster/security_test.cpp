// SPDX-License-Identifier: Apache-2.0
// Who may join: the cluster secret and TLS refuse peers that cannot prove
// they belong, fast and without disturbing the cluster; and what a peer can
// do to a node's port before it proved anything.
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "child_process.hpp"
#include "echo_actor.hpp"
#include "raw_peer.hpp"
#include "troupe/error.hpp"
#include "troupe/node/node.hpp"
#include "troupe_test/test.pb.h"

using namespace std::chrono_literals;
using troupe::test::child_process;
using troupe::test::program;
using troupe::test::raw_peer;
using steady = std::chrono::steady_clock;

namespace {

struct security_settings {
  std::string secret;
  std::string ca, cert, key;
};

troupe::node_config config(const std::string& name,
                           const security_settings& s) {
  troupe::node_config cfg;
  cfg.name = name;
  cfg.log = troupe::log_level::error;
  cfg.secret = s.secret;
  cfg.tls_ca = s.ca;
  cfg.tls_cert = s.cert;
  cfg.tls_key = s.key;
  cfg.handle_signals = false;
  return cfg;
}

// Starts `n`, serving "echo".
void serve(troupe::node& n) {
  troupe::test::add_echo_types(n);
  ASSERT_FALSE(n.start());
  ASSERT_FALSE(n.register_name("echo", n.spawn(troupe::test::echo, n.name())));
}

troupe::node_config joining(troupe::node_config cfg, uint16_t seed) {
  cfg.seeds = {"127.0.0.1:" + std::to_string(seed)};
  return cfg;
}

// One request to the echo of the node at `port`, from `n`.
void expect_echo(troupe::node& n, uint16_t port, const std::string& from) {
  auto echo = n.lookup("127.0.0.1", port, "echo");
  ASSERT_TRUE(echo) << troupe::describe(echo.error());
  caf::scoped_actor self{n.system(), true};
  troupe_test::Ping ping;
  ping.set_seq(7);
  bool answered = false;
  self->request(*echo, 5s, ping)
    .receive(
      [&](const troupe_test::Pong& pong) {
        answered = true;
        EXPECT_EQ(pong.seq(), 7u);
        EXPECT_EQ(pong.from(), from);
      },
      [&](caf::error& err) { ADD_FAILURE() << troupe::describe(err); });
  EXPECT_TRUE(answered);
}

// `outsider` tries to reach the node at `port`: refused, within a second.
void expect_refused(troupe::node& outsider, uint16_t port) {
  auto start = steady::now();
  auto found = outsider.lookup("127.0.0.1", port, "echo");
  auto took = steady::now() - start;
  ASSERT_FALSE(found) << "an outsider reached echo";
  EXPECT_NE(troupe::describe(found.error()).find("refused during the "
                                                 "handshake"),
            std::string::npos)
    << troupe::describe(found.error());
  EXPECT_LT(took, 1s) << std::chrono::duration_cast<std::chrono::milliseconds>(
                           took)
                           .count()
                      << " ms";
}

// Both nodes of a formed cluster still see each other, and a still answers.
void expect_cluster_unaffected(troupe::node& a, troupe::node& b) {
  EXPECT_EQ(a.members().size(), 2u);
  EXPECT_EQ(b.members().size(), 2u);
  expect_echo(b, a.port(), "a");
}

// How long the node took to close `peer`'s connection (10 s: safety net).
std::chrono::milliseconds closed(const raw_peer& peer) {
  auto took = peer.until_closed(10s);
  EXPECT_TRUE(took) << "the node did not close the connection";
  return took.value_or(10s);
}

// -- the cluster secret -----------------------------------------------------

struct Secret : ::testing::Test {
  security_settings right{"open sesame", {}, {}, {}};
  troupe::node a{config("a", right)};
  std::unique_ptr<troupe::node> b;

  void SetUp() override {
    serve(a);
    b = std::make_unique<troupe::node>(joining(config("b", right), a.port()));
    serve(*b);
  }

  void TearDown() override {
    b->shutdown();
    a.shutdown();
  }
};

// A request through a troupe handle, answered by "a".
void expect_ref_echo(troupe::node& from, troupe::node& to) {
  auto echo = from.lookup("127.0.0.1", to.port(), "echo");
  ASSERT_TRUE(echo) << troupe::describe(echo.error());
  caf::scoped_actor self{from.system(), true};
  troupe_test::Ping ping;
  ping.set_seq(3);
  self->request(from.ref(*echo), 5s, ping)
    .receive([&](const troupe_test::Pong& pong) { EXPECT_EQ(pong.seq(), 3u); },
             [&](caf::error& err) { FAIL() << troupe::describe(err); });
}

TEST_F(Secret, NodesThatShareItFormAClusterAndTalkOverLinksAndBasp) {
  expect_cluster_unaffected(a, *b);
  // The direct links authenticated too: the request took one.
  expect_ref_echo(*b, a);
  EXPECT_GE(b->cluster_statistics().link_frames_out, 1u);
  EXPECT_GE(a.cluster_statistics().link_frames_in, 1u);
}

TEST_F(Secret, TheDataPortRefusesAHelloWithoutTheProof) {
  raw_peer peer{a.link_port()};
  ASSERT_GE(peer.fd, 0);
  char challenge[32];
  ASSERT_EQ(::recv(peer.fd, challenge, sizeof(challenge), MSG_WAITALL), 32);
  // A well-formed length and a hello whose last 32 bytes are no proof.
  std::string hello(4 + 100, 'x');
  hello[0] = hello[1] = hello[2] = 0;
  hello[3] = 100;
  auto bad_before = a.cluster_statistics().link_bad_frames;
  ASSERT_TRUE(peer.write(hello));
  EXPECT_LT(closed(peer), 1s);
  EXPECT_EQ(a.cluster_statistics().link_bad_frames, bad_before + 1);
  expect_cluster_unaffected(a, *b);
}

TEST_F(Secret, AWrongSecretIsRefusedWithinASecond) {
  troupe::node c{config("c", {"guess", {}, {}, {}})};
  serve(c);
  expect_refused(c, a.port());
  // c counted it before its lookup failed (a counts too, unless c's close
  // reset the connection before a read c's proof: then it is a probe).
  EXPECT_GE(c.cluster_statistics().refused_secret, 1u);
  expect_cluster_unaffected(a, *b);
  c.shutdown();
}

TEST_F(Secret, NoSecretIsRefusedWithinASecond) {
  troupe::node c{config("c", {})};
  serve(c);
  expect_refused(c, a.port());
  expect_cluster_unaffected(a, *b);
  c.shutdown();
}

TEST_F(Secret, ANodeWithoutOneRefusesANodeWithOne) {
  troupe::node open_node{config("open", {})};
  serve(open_node);
  expect_refused(*b, open_node.port());
  open_node.shutdown();
}

TEST_F(Secret, JoiningWithAWrongSecretLeavesTheJoinerAlone) {
  troupe::node c{joining(config("c", {"guess", {}, {}, {}}), a.port())};
  serve(c);
  EXPECT_EQ(c.members().size(), 1u);
  expect_cluster_unaffected(a, *b);
  c.shutdown();
}

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

struct Tls : ::testing::Test {
  troupe::node a{config("a", cas().of("cluster", "a"))};
  std::unique_ptr<troupe::node> b;

  void SetUp() override {
    serve(a);
    b = std::make_unique<troupe::node>(
      joining(config("b", cas().of("cluster", "b")), a.port()));
    serve(*b);
  }

  void TearDown() override {
    b->shutdown();
    a.shutdown();
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

// -- what a peer can do before it proved anything ----------------------------

struct Hostile : ::testing::Test {
  child_process b{{program("troupe_test_node"), "--name", "b",
                   "--max-connections", "3", "--handshake-timeout-ms", "500"}};
  uint16_t b_port = 0;
  troupe::node a{config("a", {})};

  void SetUp() override {
    auto line = b.wait_for_line("READY port=");
    ASSERT_TRUE(line) << b.output();
    b_port = static_cast<uint16_t>(
      std::stoi(line->substr(line->find("port=") + 5)));
    troupe::test::add_echo_types(a);
    ASSERT_FALSE(a.start());
  }

  void TearDown() override {
    a.shutdown();
  }
};

TEST_F(Hostile, AHugeLengthPrefixIsRefusedBeforeAnythingIsAllocated) {
  raw_peer peer{b_port};
  ASSERT_GE(peer.fd, 0);
  // BASP's client handshake header announcing 4 GiB - 16 of payload.
  std::string hdr(32, '\0');
  hdr[0] = 1;
  hdr[4] = hdr[5] = hdr[6] = '\xff';
  hdr[7] = '\xf0';
  ASSERT_TRUE(peer.write(hdr));
  EXPECT_LT(closed(peer), 400ms);
  EXPECT_TRUE(b.wait_for_line("a frame announced 4294967280 bytes"))
    << b.output();
  expect_echo(a, b_port, "b");
}

TEST_F(Hostile, ASilentPeerIsDroppedAfterTheHandshakeTimeout) {
  raw_peer peer{b_port};
  ASSERT_GE(peer.fd, 0);
  auto took = closed(peer);
  EXPECT_GE(took, 400ms);
  EXPECT_LT(took, 1500ms);
  EXPECT_TRUE(b.wait_for_line("no handshake within 500 ms")) << b.output();
  expect_echo(a, b_port, "b");
}

// A client handshake announcing 1000 bytes, of which 10 ever come.
std::string truncated_frame() {
  std::string frame(32 + 10, '\0');
  frame[0] = 1;
  frame[6] = '\x03';
  frame[7] = '\xe8';
  return frame;
}

TEST_F(Hostile, ATruncatedFrameThenSilenceIsDropped) {
  raw_peer peer{b_port};
  ASSERT_GE(peer.fd, 0);
  ASSERT_TRUE(peer.write(truncated_frame()));
  auto took = closed(peer);
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 1500ms);
  expect_echo(a, b_port, "b");
}

TEST_F(Hostile, APeerVanishingMidFrameLeavesTheNodeServing) {
  for (int i = 0; i < 20; ++i) {
    raw_peer peer{b_port};
    ASSERT_GE(peer.fd, 0);
    ASSERT_TRUE(peer.write(truncated_frame()));
  }
  expect_echo(a, b_port, "b");
}

// What a hostile CAF peer can put in a message: CAF's name for its own
// config_value type, followed by a type tag that does not exist.
struct fake_config_value {
  uint8_t tag = 0xff;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fake_config_value& x) {
  return f(caf::meta::type_name("@config_value"), x.tag);
}

TEST_F(Hostile, AMessageThatMakesCafThrowEndsTheConnectionNotTheNode) {
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  cfg.set("logger.console", caf::atom("none"));
  cfg.set("middleman.app-identifiers", std::vector<std::string>{"troupe/1"});
  cfg.add_message_type<fake_config_value>("@config_value");
  caf::actor_system fake{cfg};
  auto dir = fake.middleman().remote_actor("127.0.0.1", b_port);
  ASSERT_TRUE(dir) << caf::to_string(dir.error());
  caf::anon_send(*dir, fake_config_value{});
  EXPECT_TRUE(b.wait_for_line("CAF could not decode what it sent"))
    << b.output();
  expect_echo(a, b_port, "b");
}

TEST_F(Hostile, AConnectionBeyondTheLimitDisplacesTheOldestSilentOne) {
  // a's own connection is one of the three; two silent peers fill the rest.
  // A third silent peer is let in, and the oldest one still in its
  // handshake makes room: silent connections cannot keep anybody out.
  expect_echo(a, b_port, "b");
  raw_peer s1{b_port};
  raw_peer s2{b_port};
  raw_peer s3{b_port};
  ASSERT_GE(s3.fd, 0);
  EXPECT_LT(closed(s1), 400ms);
  EXPECT_TRUE(b.wait_for_line("(still in its handshake) to make room"))
    << b.output();
  s2.close();
  s3.close();
  expect_echo(a, b_port, "b");
}

} // namespace
