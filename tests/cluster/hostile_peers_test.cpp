// SPDX-License-Identifier: Apache-2.0
// What a peer can do to a node's port before it proved anything: huge
// length prefixes, silence, truncated frames, messages that make CAF
// throw, connection floods (security_common.hpp).
#include "security_common.hpp"

using namespace troupe::test::security;

namespace {

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
