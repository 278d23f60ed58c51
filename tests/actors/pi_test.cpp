// SPDX-License-Identifier: Apache-2.0
// Smoke tests of examples/pi: three `pi serve` nodes and a `pi run` that
// joins them; the estimate is within 0.01 of pi, also when one serve node
// is killed (by PID) once the run has printed 20% progress.
#include <cmath>
#include <csignal>
#include <string>

#include <gtest/gtest.h>

#include "cluster/child_process.hpp"

using namespace std::chrono_literals;
using troupe::test::child_process;

namespace {

std::vector<std::string> serve(const std::string& name,
                               const std::string& seed) {
  std::vector<std::string> args{TROUPE_PI_BIN, "serve", "--name", name,
                                "--port", "0"};
  if (!seed.empty()) {
    args.emplace_back("--seeds");
    args.emplace_back(seed);
  }
  return args;
}

std::vector<std::string> run(const std::string& seed, const std::string& samples) {
  return {TROUPE_PI_BIN, "run", "nodes=3", "samples=" + samples, "tasks=200",
          "--name", "runner", "--port", "0", "--seeds", seed};
}

/// The value after `key` in `line` ("PI 3.14 ... retries=2").
double field(const std::string& line, const std::string& key) {
  auto pos = line.find(key);
  return pos == std::string::npos ? NAN : std::stod(line.substr(pos + key.size()));
}

struct Pi : ::testing::Test {
  std::unique_ptr<child_process> n1, n2, n3;
  std::string seed;

  void SetUp() override {
    n1 = std::make_unique<child_process>(serve("n1", ""));
    seed = "127.0.0.1:" + troupe::test::ready_port(*n1);
    n2 = std::make_unique<child_process>(serve("n2", seed));
    n3 = std::make_unique<child_process>(serve("n3", seed));
    troupe::test::ready_port(*n2);
    troupe::test::ready_port(*n3);
  }
};

} // namespace

TEST_F(Pi, EstimatesPiOnThreeNodes) {
  child_process runner{run(seed, "20000000")};
  auto result = runner.wait_for_line("PI ", 60s);
  ASSERT_TRUE(result) << runner.output();
  EXPECT_EQ(runner.wait_exit(), 0) << runner.output();
  EXPECT_LT(std::fabs(field(*result, "PI ") - M_PI), 0.01) << *result;
  EXPECT_NE(result->find("samples=20000000 "), std::string::npos) << *result;
  EXPECT_TRUE(runner.wait_for_line("PROGRESS 100% [####"));
}

TEST_F(Pi, StillCorrectWhenAServeNodeIsKilledMidRun) {
  child_process runner{run(seed, "200000000")};
  ASSERT_TRUE(runner.wait_for_line("PROGRESS  20%", 60s)) << runner.output();
  n2->signal(SIGKILL);
  auto result = runner.wait_for_line("PI ", 60s);
  ASSERT_TRUE(result) << runner.output();
  EXPECT_EQ(runner.wait_exit(), 0) << runner.output();
  EXPECT_LT(std::fabs(field(*result, "PI ") - M_PI), 0.01) << *result;
  EXPECT_NE(result->find("samples=200000000 "), std::string::npos) << *result;
  // n2's workers held tasks when it died: they ran again elsewhere.
  EXPECT_GE(field(*result, "retries="), 1.0) << *result;
  EXPECT_EQ(n2->wait_exit(), 128 + SIGKILL);
}

TEST(PiUsage, BadArgumentsAreRefusedWithAClearError) {
  child_process p{{TROUPE_PI_BIN, "run", "tasks=zero"}};
  EXPECT_TRUE(p.wait_for_line("bad argument 'tasks=zero'")) << p.output();
  EXPECT_EQ(p.wait_exit(), 2);
  child_process q{{TROUPE_PI_BIN, "fly"}};
  EXPECT_TRUE(q.wait_for_line("mode must be serve or run")) << q.output();
  EXPECT_EQ(q.wait_exit(), 2);
}
