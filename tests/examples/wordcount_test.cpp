// SPDX-License-Identifier: Apache-2.0
// The wordcount example: the distributed count equals a single-threaded one.
#include <gtest/gtest.h>

#include "child_process.hpp"
#include "output.hpp"

using troupe::test::child_process;
using troupe::test::has_line;
using troupe::test::match_line;

namespace {

// Checks that both counts are printed, equal and non-trivial.
void expect_match(child_process& wc, long min_words) {
  auto lines = wc.lines();
  auto dist = match_line(lines, "^distributed \\(\\d+ mappers, \\d+ "
                                "reducers\\): (\\d+) words, (\\d+) distinct");
  auto ref = match_line(lines, "^single-threaded: (\\d+) words, (\\d+) "
                               "distinct");
  ASSERT_EQ(dist.size(), 2u) << wc.output();
  ASSERT_EQ(ref.size(), 2u) << wc.output();
  EXPECT_EQ(dist, ref);
  EXPECT_GT(std::stol(ref[0]), min_words) << wc.output();
  EXPECT_TRUE(has_line(lines, "^match: yes$")) << wc.output();
}

} // namespace

TEST(Wordcount, LicensesCountedByActorsMatchTheSingleThreadedCount) {
  child_process wc{
      {TROUPE_WORDCOUNT_BIN, "local", "--mappers", "3", "--reducers", "5"}};
  ASSERT_EQ(wc.wait_exit(std::chrono::seconds{60}), 0) << wc.output();
  EXPECT_TRUE(has_line(wc.lines(), "^corpus: \\d+ files, \\d+ bytes$"));
  expect_match(wc, 10000);
}

TEST(Wordcount, GeneratedCorpusAcrossTwoNodesMatches) {
  child_process n1{{TROUPE_WORDCOUNT_BIN, "--name", "n1", "serve"}};
  auto seed = "127.0.0.1:" + troupe::test::ready_port(n1);
  child_process n2{
      {TROUPE_WORDCOUNT_BIN, "--name", "n2", "serve", "--seeds", seed}};
  troupe::test::ready_port(n2);
  child_process run{{TROUPE_WORDCOUNT_BIN, "--name", "run", "run", "--generate",
                     "2000000", "--seeds", seed}};
  ASSERT_EQ(run.wait_exit(std::chrono::seconds{60}), 0) << run.output();
  expect_match(run, 200000);
  // The work ran on the serve nodes, not on the node that asked for it.
  EXPECT_TRUE(run.wait_for_line("spawned a 'mapper' on 'n")) << run.output();
  EXPECT_FALSE(run.wait_for_line("spawned a 'mapper' on 'run'",
                                 std::chrono::milliseconds{1}));
}

TEST(Wordcount, UnreadableFileFailsTheRun) {
  child_process wc{{TROUPE_WORDCOUNT_BIN, "local", "/nonexistent/file"}};
  EXPECT_EQ(wc.wait_exit(), 1) << wc.output();
  EXPECT_TRUE(wc.wait_for_line("cannot read /nonexistent/file"));
}

TEST(Wordcount, BadInputIsAUsageError) {
  for (auto args : std::vector<std::vector<std::string>>{
           {"local", "--mappers", "-1"}, {"count"}, {"serve", "file"}}) {
    args.insert(args.begin(), TROUPE_WORDCOUNT_BIN);
    child_process wc{args};
    EXPECT_EQ(wc.wait_exit(), 2) << wc.output();
  }
}
