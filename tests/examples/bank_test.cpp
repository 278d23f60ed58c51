// SPDX-License-Identifier: Apache-2.0
// The bank example: the actors conserve the total, the shared-memory version
// does not, and a crashed account comes back with its balance.
#include <string>

#include <gtest/gtest.h>

#include "child_process.hpp"
#include "output.hpp"

using troupe::test::child_process;
using troupe::test::has_line;
using troupe::test::match_line;

// Under TSan (tools/dev tsan) 100,000 transfers took from 15 s to over 8
// minutes on 2 busy cores: fewer there, same assertions.
#if defined(__SANITIZE_THREAD__)
constexpr long conserve_transfers = 5000;
#else
constexpr long conserve_transfers = 100000;
#endif

TEST(Bank, ActorsConserveTheTotalWhereTheNaiveThreadsDoNot) {
  child_process bank{{TROUPE_BANK_BIN, "local", "--transfers",
                      std::to_string(conserve_transfers)}};
  ASSERT_EQ(bank.wait_exit(std::chrono::seconds{90}), 0) << bank.output();
  auto lines = bank.lines();
  auto actors = match_line(lines, "^actors: total before (\\d+), after (\\d+): "
                                  "conserved \\((\\d+) transfers done");
  ASSERT_EQ(actors.size(), 3u) << bank.output();
  EXPECT_EQ(actors[0], "100000");
  EXPECT_EQ(actors[1], "100000");
  EXPECT_GT(std::stol(actors[2]), conserve_transfers * 8 / 10)
    << "most transfers must be done";
  auto naive =
      match_line(lines, "^naive threads: total before (\\d+), after "
                        "(-?\\d+): NOT conserved, (lost|made up) (\\d+)");
  ASSERT_EQ(naive.size(), 4u) << bank.output();
  auto drift = std::stol(naive[1]) - std::stol(naive[0]);
  EXPECT_NE(drift, 0);
  EXPECT_EQ(std::labs(drift), std::stol(naive[3]));
  EXPECT_EQ(naive[2], drift < 0 ? "lost" : "made up");
}

TEST(Bank, ACrashedAccountComesBackWithItsBalance) {
  child_process bank{
      {TROUPE_BANK_BIN, "local", "--transfers", "20000", "--accounts", "6"}};
  ASSERT_EQ(bank.wait_exit(std::chrono::seconds{90}), 0) << bank.output();
  auto lines = bank.lines();
  auto held = match_line(lines, "^crash: account-3 held (\\d+), then failed: "
                                "handler_failed: .*injected crash");
  ASSERT_EQ(held.size(), 1u) << bank.output();
  auto after =
      match_line(lines, "^crash: its supervisor restarted it "
                        "\\(restarts=(\\d+)\\), balance now (\\d+) \\(kept\\); "
                        "total (\\d+) -> (\\d+): conserved");
  ASSERT_EQ(after.size(), 4u) << bank.output();
  EXPECT_EQ(after[0], "1");
  EXPECT_EQ(after[1], held[0]) << "the restarted account recovered its events";
  EXPECT_EQ(after[2], "60000");
  EXPECT_EQ(after[3], "60000");
}

TEST(Bank, BadInputIsAUsageError) {
  for (auto args :
       std::vector<std::vector<std::string>>{{"local", "--transfers", "many"},
                                             {"local", "--accounts", "0"},
                                             {"fly"},
                                             {},
                                             {"local", "--port", "99999"}}) {
    args.insert(args.begin(), TROUPE_BANK_BIN);
    child_process bank{args};
    EXPECT_EQ(bank.wait_exit(), 2) << bank.output();
    EXPECT_NE(bank.output().find("bank"), std::string::npos) << bank.output();
  }
}

// `serve` nodes keep the bank open: a second run finds the balances the
// first one left (the crash's loss included), and the accounts outlive the
// node of the client that opened the bank.
TEST(Bank, SecondRunFindsTheBankOpenWithTheBalancesTheFirstLeft) {
  child_process n1{{TROUPE_BANK_BIN, "--name", "n1", "serve"}};
  auto seed = "127.0.0.1:" + troupe::test::ready_port(n1);
  child_process n2{{TROUPE_BANK_BIN, "--name", "n2", "serve", "--seeds", seed}};
  troupe::test::ready_port(n2);
  ASSERT_TRUE(n1.wait_for_line("member 'n2'")) << n1.output();
  auto run = [&](const std::string& name) {
    child_process c{{TROUPE_BANK_BIN, "--name", name, "run", "--transfers",
                     "3000", "--seeds", seed}};
    EXPECT_EQ(c.wait_exit(std::chrono::seconds{60}), 0) << c.output();
    return c.lines();
  };
  auto first = run("c1");
  auto left = match_line(first, "; total \\d+ -> (\\d+): conserved");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_TRUE(has_line(first, "^bank: 10 accounts of 10000,"));
  auto second = run("c2");
  EXPECT_TRUE(has_line(second, "^bank: 10 accounts \\(open already"));
  EXPECT_EQ(match_line(second, "^actors: total before (\\d+), after (\\d+): "
                               "conserved"),
            (std::vector<std::string>{left[0], left[0]}));
  // n1's supervisor placed the accounts on n2, the other host.
  EXPECT_TRUE(n1.wait_for_line("spawned a 'account' on 'n2'")) << n1.output();
}
