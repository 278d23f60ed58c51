// SPDX-License-Identifier: Apache-2.0
// A node that was frozen, fenced itself and rejoined must end up connected
// to every member, even when its first attempt to reach one of them fails.
// Found by the chaos harness (run cn10b): n2 rejoined as a new incarnation,
// its dial of n3 (not a seed) timed out, and for over 30 s n2 saw {n1, n2}
// and n3 saw {n1, n3}: n2 still listed n3 as down (a judgement of its
// fenced incarnation, void) and took the n3 that n1's heartbeats reported
// up for one it knew; n3, the larger name, waits to be dialed.
//
// Deterministic trigger: n2 runs with a shorter failure timeout than n1 and
// n3, so its dial of n3 gives up (CAF's connection timeout, one failure
// timeout of n2) while n3 is frozen, and n3 resumes long before n1 would
// mark it down.
#include <csignal>
#include <string>

#include <gtest/gtest.h>

#include "child_process.hpp"

using namespace std::chrono_literals;
using troupe::test::child_process;
using troupe::test::member_args;

TEST(RejoinMesh, ARejoinerWhoseFirstDialOfAMemberFailedStillMeetsIt) {
  // n1 and n3 mark a silent member down after 8 s; n2 after 1.6 s, so its
  // dial of a frozen n3 fails after about 1.6 s.
  auto slow = [](std::vector<std::string> args) {
    args.insert(args.end(), {"--failure-timeout-ms", "8000"});
    return args;
  };
  child_process n1{slow(member_args("n1", ""))};
  auto port = troupe::test::ready_port(n1);
  auto seed = "127.0.0.1:" + port;
  auto n2_args = member_args("n2", seed);
  n2_args.insert(n2_args.end(), {"--failure-timeout-ms", "1600"});
  child_process n2{n2_args};
  troupe::test::ready_port(n2);
  child_process n3{slow(member_args("n3", seed))};
  auto n3_port = troupe::test::ready_port(n3);
  for (auto* p : {&n1, &n2, &n3})
    ASSERT_TRUE(p->wait_for_line("CLUSTER up=3", 10s)) << p->output();

  // -- n2 frozen until n1 and n3 mark it down ---------------------------------
  auto n1_lines = n1.line_count();
  auto n3_lines = n3.line_count();
  n2.signal(SIGSTOP);
  ASSERT_TRUE(n2.wait_stopped());
  ASSERT_TRUE(n1.wait_for_line("MEMBER n2 down", 20s, n1_lines))
    << n1.output();
  ASSERT_TRUE(n3.wait_for_line("MEMBER n2 down", 20s, n3_lines))
    << n3.output();

  // -- n3 frozen while n2 wakes, fences itself and dials it -------------------
  n3_lines = n3.line_count();
  n3.signal(SIGSTOP);
  ASSERT_TRUE(n3.wait_stopped());
  auto n2_lines = n2.line_count();
  n2.signal(SIGCONT);
  ASSERT_TRUE(n2.wait_for_line("is fenced", 10s, n2_lines)) << n2.output();
  // n2 is back in through the seed (its first dial of n1 may fail on the
  // link n1 closed while n2 was frozen; then it tries all again a failure
  // timeout later, n3 too)...
  ASSERT_TRUE(n1.wait_for_line("MEMBER n2 up", 10s, n1_lines)) << n1.output();
  auto met_n1 = ":" + port + " is up";
  ASSERT_TRUE(n2.wait_for_line(met_n1, 10s, n2_lines)) << n2.output();
  size_t after_n1 = n2_lines;
  auto lines = n2.lines();
  while (lines.at(after_n1).find(met_n1) == std::string::npos)
    ++after_n1;
  // ... and a dial of n3 fails after that: n2 is no longer alone, so it
  // does not try its seeds and old members again.
  ASSERT_TRUE(n2.wait_for_line(":" + n3_port + " unreachable", 10s,
                               after_n1 + 1))
    << n2.output();
  n3.signal(SIGCONT);

  // -- both see each other up, well before anything else changes -------------
  // n3 was frozen for one or two failure timeouts of n2, far less than the
  // 8 s after which n1 would mark it down: n3 stays the same incarnation.
  EXPECT_TRUE(n2.wait_for_line("MEMBER n3 up", 10s, n2_lines))
    << "n2 never met n3 again\n--- n2:\n"
    << n2.output() << "\n--- n3:\n"
    << n3.output();
  EXPECT_TRUE(n3.wait_for_line("MEMBER n2 up", 10s, n3_lines))
    << "n3 never met the new n2\n--- n3:\n"
    << n3.output();
  EXPECT_FALSE(n3.wait_for_line("is fenced", 0ms, n3_lines)) << n3.output();
  EXPECT_FALSE(n1.wait_for_line("MEMBER n3 down", 0ms, n1_lines))
    << n1.output();
  for (auto* p : {&n1, &n2, &n3})
    p->signal(SIGKILL);
}
