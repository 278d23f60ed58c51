// A sanitizer report in a child process fails the test that started it,
// whatever the test expected of the child (sanitizer builds only).
#include <optional>
#include <string>

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include "child_process.hpp"

using troupe::test::child_process;
using troupe::test::program;

namespace {

// Runs the probe with `what` to its exit; the child_process's destructor
// reports the finding as a test failure, which this expects.
void expect_report_fails_test(const std::string& what,
                              const std::string& report) {
  std::optional<int> code;
  std::string found;
  auto run = [&] {
    child_process probe{{program("troupe_sanitizer_probe"), what}};
    code = probe.wait_exit();
    found = probe.sanitizer_report();
  };
  EXPECT_NONFATAL_FAILURE(run(), "sanitizer report from child");
  EXPECT_NE(found.find(report), std::string::npos) << found;
  // halt_on_error (tools/dev): the child stops at the finding.
  ASSERT_TRUE(code);
  EXPECT_NE(*code, 0);
}

} // namespace

TEST(ChildProcess, SanitizerReportInChildFailsTheTest) {
#if defined(__SANITIZE_THREAD__)
  expect_report_fails_test("race", "WARNING: ThreadSanitizer: data race");
#elif defined(__SANITIZE_ADDRESS__)
  expect_report_fails_test("use-after-free",
                           "ERROR: AddressSanitizer: heap-use-after-free");
  expect_report_fails_test("overflow", "runtime error: signed integer overflow");
#else
  GTEST_SKIP() << "not a sanitizer build (TROUPE_SANITIZE)";
#endif
}

TEST(ChildProcess, CleanChildHasNoSanitizerReport) {
  child_process probe{{program("troupe_sanitizer_probe"), "none"}};
  EXPECT_EQ(probe.wait_exit(), 2);
  EXPECT_EQ(probe.sanitizer_report(), "") << probe.output();
}
