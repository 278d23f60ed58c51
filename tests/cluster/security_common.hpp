// SPDX-License-Identifier: Apache-2.0
// What the security tests share (security_test.cpp: the cluster secret,
// tls_peers_test.cpp: TLS, hostile_peers_test.cpp: raw peers): settings for
// a node that guards its ports, its echo, and checks that an outsider is
// refused fast while the cluster keeps working.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <memory>
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

namespace troupe::test::security {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using troupe::test::child_process;
using troupe::test::program;
using troupe::test::raw_peer;

struct security_settings {
  std::string secret;
  std::string ca, cert, key;
};

inline troupe::node_config config(const std::string& name,
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
inline void serve(troupe::node& n) {
  troupe::test::add_echo_types(n);
  ASSERT_FALSE(n.start());
  ASSERT_FALSE(n.register_name("echo", n.spawn(troupe::test::echo, n.name())));
}

inline troupe::node_config joining(troupe::node_config cfg,
                                   uint16_t seed) {
  cfg.seeds = {"127.0.0.1:" + std::to_string(seed)};
  return cfg;
}

// One request to the echo of the node at `port`, from `n`.
inline void expect_echo(troupe::node& n, uint16_t port,
                        const std::string& from) {
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
inline void expect_refused(troupe::node& outsider, uint16_t port) {
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
inline void expect_cluster_unaffected(troupe::node& a, troupe::node& b) {
  EXPECT_EQ(a.members().size(), 2u);
  EXPECT_EQ(b.members().size(), 2u);
  expect_echo(b, a.port(), "a");
}

// How long the node took to close `peer`'s connection (10 s: safety net).
inline std::chrono::milliseconds closed(const raw_peer& peer) {
  auto took = peer.until_closed(10s);
  EXPECT_TRUE(took) << "the node did not close the connection";
  return took.value_or(10s);
}

// A request through a troupe handle, answered by `to`.
inline void expect_ref_echo(troupe::node& from, troupe::node& to) {
  auto echo = from.lookup("127.0.0.1", to.port(), "echo");
  ASSERT_TRUE(echo) << troupe::describe(echo.error());
  caf::scoped_actor self{from.system(), true};
  troupe_test::Ping ping;
  ping.set_seq(3);
  self->request(from.ref(*echo), 5s, ping)
    .receive([&](const troupe_test::Pong& pong) { EXPECT_EQ(pong.seq(), 3u); },
             [&](caf::error& err) { FAIL() << troupe::describe(err); });
}

/// Nodes "a" and "b" (which joins a) with settings `sa` and `sb`, each
/// serving "echo": the cluster whose guard a test then probes.
struct guarded_pair : ::testing::Test {
  guarded_pair(const security_settings& sa, security_settings sb)
    : a{config("a", sa)}, sb_(std::move(sb)) {
  }

  void SetUp() override {
    serve(a);
    b = std::make_unique<troupe::node>(joining(config("b", sb_), a.port()));
    serve(*b);
  }

  void TearDown() override {
    b->shutdown();
    a.shutdown();
  }

  troupe::node a;
  std::unique_ptr<troupe::node> b;

private:
  security_settings sb_;
};

} // namespace troupe::test::security
