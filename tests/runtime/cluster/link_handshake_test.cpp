// SPDX-License-Identifier: Apache-2.0
// The direct links' handshake without sockets (cluster/link_handshake.hpp):
// what each side sends, what it accepts, and that the bytes are those of
// earlier versions (nodes of both must keep linking).
#include "cluster/link_handshake.hpp"

#include <string>
#include <vector>

#include <caf/binary_serializer.hpp>
#include <gtest/gtest.h>

#include "runtime/deterministic.hpp"
#include "transport/guard.hpp"

using troupe::cluster::link_accept_handshake;
using troupe::cluster::link_dial_handshake;
using troupe::test::deterministic;
namespace lf = troupe::cluster::link_frame;
using outcome = link_accept_handshake::outcome;
using bytes = std::vector<char>;

namespace {

struct fixture {
  deterministic sys;

  caf::execution_unit* unit() {
    return sys.sys->dummy_execution_unit();
  }

  lf::hello me() {
    caf::node_id::default_data::host_id_type host{};
    host[0] = 3;
    lf::hello x;
    x.node = caf::make_node_id(42, host);
    x.back_port = 4711;
    x.back_host = "10.0.0.7";
    return x;
  }

  /// Feeds `frame` to `acceptor` as the reader does: the length, then the
  /// body; the last outcome.
  outcome feed(link_accept_handshake& acceptor, const bytes& frame) {
    size_t pos = 0;
    auto x = outcome::more;
    while (x == outcome::more && acceptor.wanted() > 0) {
      auto n = acceptor.wanted();
      if (frame.size() - pos < n)
        return outcome::more;
      x = acceptor.take(unit(), frame.data() + pos, n);
      pos += n;
    }
    return x;
  }

  /// Runs the dialer's side against `acceptor` (its challenge in two
  /// pieces, as a socket may deliver it).
  bytes dial(link_dial_handshake& dialer,
             const link_accept_handshake& acceptor) {
    const auto& challenge = acceptor.challenge();
    EXPECT_EQ(dialer.challenge_left(), challenge.size());
    auto half = challenge.size() / 2;
    dialer.take_challenge(challenge.data(), half);
    dialer.take_challenge(challenge.data() + half, challenge.size() - half);
    EXPECT_EQ(dialer.challenge_left(), 0u);
    return dialer.hello(*sys.sys, me());
  }
};

} // namespace

TEST(LinkHandshake, WithoutASecretTheHelloAloneNamesTheDialer) {
  fixture f;
  link_accept_handshake acceptor{""};
  link_dial_handshake dialer{""};
  EXPECT_TRUE(acceptor.challenge().empty());
  EXPECT_EQ(dialer.challenge_left(), 0u);
  auto frame = f.dial(dialer, acceptor);
  ASSERT_EQ(f.feed(acceptor, frame), outcome::hello);
  EXPECT_EQ(acceptor.wanted(), 0u);
  EXPECT_EQ(acceptor.peer().node, f.me().node);
  EXPECT_EQ(acceptor.peer().back_port, 4711);
  EXPECT_EQ(acceptor.peer().back_host, "10.0.0.7");
}

TEST(LinkHandshake, WithTheSecretTheDialerProvesItKnowsIt) {
  fixture f;
  link_accept_handshake acceptor{"s3cret"};
  link_dial_handshake dialer{"s3cret"};
  EXPECT_EQ(acceptor.challenge().size(),
            troupe::transport::link_proof::challenge_size);
  auto frame = f.dial(dialer, acceptor);
  ASSERT_EQ(f.feed(acceptor, frame), outcome::hello);
  EXPECT_EQ(acceptor.peer().node, f.me().node);
  EXPECT_TRUE(link_dial_handshake::accepted(link_accept_handshake::ack()));
  EXPECT_FALSE(link_dial_handshake::accepted(0));
}

TEST(LinkHandshake, AnotherSecretIsRefused) {
  fixture f;
  link_accept_handshake acceptor{"s3cret"};
  link_dial_handshake dialer{"guess"};
  auto frame = f.dial(dialer, acceptor);
  EXPECT_EQ(f.feed(acceptor, frame), outcome::wrong_secret);
  EXPECT_STREQ(link_accept_handshake::why(outcome::wrong_secret),
               "it does not know this cluster's secret");
}

TEST(LinkHandshake, AProofIsBoundToTheChallengeAndToTheHello) {
  fixture f;
  link_accept_handshake first{"s3cret"};
  link_dial_handshake dialer{"s3cret"};
  auto frame = f.dial(dialer, first);
  // Replayed to another acceptor (another challenge).
  link_accept_handshake second{"s3cret"};
  EXPECT_EQ(f.feed(second, frame), outcome::wrong_secret);
  // Its back address changed on the way.
  link_accept_handshake third{"s3cret"};
  link_dial_handshake again{"s3cret"};
  frame = f.dial(again, third);
  frame[frame.size() - troupe::transport::link_proof::proof_size - 1] ^= 1;
  EXPECT_EQ(f.feed(third, frame), outcome::wrong_secret);
  // No room for a proof at all.
  link_accept_handshake fourth{"s3cret"};
  bytes tiny{0, 0, 0, 5, static_cast<char>(lf::kind_hello), 'T', 'R', 'P',
             '1'};
  EXPECT_EQ(f.feed(fourth, tiny), outcome::wrong_secret);
}

TEST(LinkHandshake, TheLengthIsBoundedBeforeAnythingIsRead) {
  fixture f;
  for (uint32_t len : {0u, 4u, 2049u, 0xFFFFFFFFu}) {
    link_accept_handshake acceptor{""};
    char hdr[4];
    lf::put_length(hdr, len);
    EXPECT_EQ(acceptor.take(f.unit(), hdr, 4), outcome::bad_length) << len;
    EXPECT_EQ(acceptor.wanted(), 0u);
  }
  for (uint32_t len : {5u, 2048u}) {
    link_accept_handshake acceptor{""};
    char hdr[4];
    lf::put_length(hdr, len);
    EXPECT_EQ(acceptor.take(f.unit(), hdr, 4), outcome::more) << len;
    EXPECT_EQ(acceptor.wanted(), len);
  }
}

TEST(LinkHandshake, SomethingElseIsNotATroupeLink) {
  fixture f;
  link_accept_handshake acceptor{""};
  bytes frame{0, 0, 0, 8, 'G', 'E', 'T', ' ', '/', ' ', 'H', 'T'};
  EXPECT_EQ(f.feed(acceptor, frame), outcome::not_troupe);
  EXPECT_STREQ(link_accept_handshake::why(outcome::not_troupe),
               "not a troupe link handshake");
  EXPECT_STREQ(link_accept_handshake::why(outcome::bad_length),
               "bad handshake length");
}

TEST(LinkHandshake, TheBytesAreThoseOfEarlierVersions) {
  // Length, kind, "TRP1", CAF's encoding of the node id, back port and
  // host, then HMAC-SHA256(secret, "troupe-link" || challenge || body):
  // what link.cpp wrote before the handshake had a file of its own.
  fixture f;
  link_accept_handshake acceptor{"s3cret"};
  link_dial_handshake dialer{"s3cret"};
  auto frame = f.dial(dialer, acceptor);
  auto me = f.me();
  bytes body{static_cast<char>(2), 'T', 'R', 'P', '1'};
  caf::binary_serializer sink{*f.sys.sys, body};
  ASSERT_FALSE(sink(me.node, me.back_port, me.back_host));
  auto mac = troupe::transport::hmac_sha256(
    "s3cret", "troupe-link" + acceptor.challenge()
                + std::string(body.data(), body.size()));
  bytes expected(4, 0);
  auto len = static_cast<uint32_t>(body.size() + mac.size());
  for (int i = 0; i < 4; ++i)
    expected[i] = static_cast<char>(len >> (24 - 8 * i));
  expected.insert(expected.end(), body.begin(), body.end());
  expected.insert(expected.end(), mac.begin(), mac.end());
  EXPECT_EQ(frame, expected);
  EXPECT_EQ(link_accept_handshake::ack(), static_cast<char>(0x5a));
}
