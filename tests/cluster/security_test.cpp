// SPDX-License-Identifier: Apache-2.0
// Who may join: the cluster secret refuses peers that cannot prove they
// belong, fast and without disturbing the cluster (security_common.hpp).
#include "security_common.hpp"

using namespace troupe::test::security;

namespace {

// -- the cluster secret -----------------------------------------------------

const security_settings right{"open sesame", {}, {}, {}};

struct Secret : guarded_pair {
  Secret() : guarded_pair(right, right) {
  }
};

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

} // namespace
