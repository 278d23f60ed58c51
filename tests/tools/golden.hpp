// SPDX-License-Identifier: Apache-2.0
#pragma once

// Golden files: expected outputs in tests/tools/golden/, read at run time.
// `TROUPE_UPDATE_GOLDEN=1` rewrites them from the current output instead of
// comparing (then review the diff before committing it).

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace troupe::tool::test {

inline std::string golden_path(const std::string& name) {
  return std::string{TROUPE_GOLDEN_DIR} + "/" + name;
}

inline void expect_golden(const std::string& name, const std::string& actual) {
  auto path = golden_path(name);
  if (auto* update = std::getenv("TROUPE_UPDATE_GOLDEN");
      update != nullptr && std::string{update} == "1") {
    std::ofstream out{path, std::ios::binary};
    out << actual;
    ASSERT_TRUE(out.good()) << "cannot write " << path;
    std::cout << "rewrote " << path << '\n';
    return;
  }
  std::ifstream in{path, std::ios::binary};
  ASSERT_TRUE(in.good()) << "missing golden file " << path
                         << " (run with TROUPE_UPDATE_GOLDEN=1 to create it)";
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(expected.str(), actual)
      << "output differs from " << path
      << " (if the change is intended: TROUPE_UPDATE_GOLDEN=1, then review)";
}

} // namespace troupe::tool::test
