// SPDX-License-Identifier: Apache-2.0
// The direct links' reader threads (cluster/link_loop.hpp): a node reads
// all its peers' links with the threads it was given, however many peers
// it has, and the frames still arrive.
#include "cluster/link_loop.hpp"

#include <dirent.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "troupe/actor/ask.hpp"
#include "troupe/error.hpp"
#include "troupe/testkit/cluster.hpp"
#include "troupe/wire/proto.hpp"
#include "troupe_test/test.pb.h"

using namespace std::chrono_literals;
using troupe::testkit::cluster;
using troupe::testkit::cluster_options;

namespace {

struct echo_state {
  static inline const char* name = "echo";
};

caf::behavior echo(troupe::stateful_actor<echo_state>*, std::string name) {
  return {
    [name](const troupe_test::Ping& x) {
      troupe_test::Pong reply;
      reply.set_seq(x.seq());
      reply.set_from(name);
      return reply;
    },
  };
}

/// Threads of this process named `name`.
size_t threads_named(const std::string& name) {
  size_t n = 0;
  auto dir = ::opendir("/proc/self/task");
  if (dir == nullptr)
    return 0;
  while (auto e = ::readdir(dir)) {
    if (e->d_name[0] == '.')
      continue;
    std::ifstream comm{std::string{"/proc/self/task/"} + e->d_name + "/comm"};
    std::string line;
    std::getline(comm, line);
    n += line == name ? 1 : 0;
  }
  ::closedir(dir);
  return n;
}

cluster_options with(size_t readers) {
  cluster_options opts;
  opts.configure = [readers](troupe::node_config& cfg) {
    cfg.link_readers = readers;
  };
  opts.prepare = [](troupe::node& n) {
    n.add_message_type<troupe_test::Ping>()
      .add_message_type<troupe_test::Pong>();
  };
  return opts;
}

/// Every node asks every other node's echo through a troupe handle (the
/// direct links), so every link is up; false with a message otherwise.
::testing::AssertionResult all_pairs_talk(cluster& c) {
  std::vector<caf::actor> echoes;
  for (size_t i = 0; i < c.size(); ++i) {
    auto e = c[i].spawn(echo, c[i].name());
    if (auto err = c[i].register_name("echo-" + c[i].name(), e))
      return ::testing::AssertionFailure() << troupe::describe(err);
    echoes.push_back(e);
  }
  for (size_t i = 0; i < c.size(); ++i) {
    auto before = c[i].cluster_statistics().link_frames_in;
    for (size_t j = 0; j < c.size(); ++j) {
      if (i == j)
        continue;
      auto far = c[i].lookup("127.0.0.1", c[j].port(), "echo-" + c[j].name());
      if (!far)
        return ::testing::AssertionFailure() << troupe::describe(far.error());
      troupe_test::Ping p;
      p.set_seq(i * 100 + j);
      auto pong = troupe::ask<troupe_test::Pong>(c[i].system(),
                                                 c[i].ref(*far), 5s, p);
      if (!pong)
        return ::testing::AssertionFailure()
               << c[i].name() << " -> " << c[j].name() << ": "
               << troupe::describe(pong.error());
      if (pong->seq() != i * 100 + j || pong->from() != c[j].name())
        return ::testing::AssertionFailure() << "a wrong answer";
    }
    // The answers came over the links.
    auto after = c[i].cluster_statistics().link_frames_in;
    if (after < before + c.size() - 1)
      return ::testing::AssertionFailure()
             << c[i].name() << " read " << after - before << " frames";
  }
  return ::testing::AssertionSuccess();
}

/// Waits (bounded) until no link handshake thread is left.
size_t handshakes_left() {
  auto deadline = std::chrono::steady_clock::now() + 5s;
  auto n = threads_named("troupe.link.hs");
  while (n > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
    n = threads_named("troupe.link.hs");
  }
  return n;
}

} // namespace

TEST(LinkLoop, ReaderThreadsDoNotGrowWithPeers) {
  ASSERT_EQ(threads_named("troupe.link.in"), 0u);
  cluster c{with(1)};
  ASSERT_FALSE(c.start(5));
  ASSERT_TRUE(all_pairs_talk(c));
  EXPECT_EQ(handshakes_left(), 0u);
  // One reader a node for its four peers (a thread a link would be 20).
  EXPECT_EQ(threads_named("troupe.link.in"), 5u);
}

TEST(LinkLoop, SeveralReadersShareTheLinks) {
  cluster c{with(2)};
  ASSERT_FALSE(c.start(4));
  ASSERT_TRUE(all_pairs_talk(c));
  EXPECT_EQ(handshakes_left(), 0u);
  EXPECT_EQ(threads_named("troupe.link.in"), 8u);
}

TEST(LinkLoop, StopsWithoutLinksAndDefaultsToAtMostTwoThreads) {
  troupe::cluster::link_loop loop{0, 50us};
  ASSERT_TRUE(loop.start());
  EXPECT_GE(loop.threads(), 1u);
  EXPECT_LE(loop.threads(), 2u);
  loop.stop();
  EXPECT_EQ(loop.threads(), 0u);
}
