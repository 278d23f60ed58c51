// SPDX-License-Identifier: Apache-2.0
// The conformance suite every journal passes (after Akka's JournalSpec):
// replay bounds, atomic appends, writer epochs, deletion, snapshots, state.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "troupe/persistence/journal.hpp"

namespace troupe::test {

/// One database for one test; `open()` makes another connection to it, as
/// another process would.
struct journal_env {
  virtual ~journal_env() = default;
  virtual std::unique_ptr<persistence::journal> open() = 0;
};

/// A backend under test: its name and how to make a fresh database.
struct journal_backend {
  std::string name;
  std::function<std::unique_ptr<journal_env>()> make;
};

inline std::ostream& operator<<(std::ostream& out, const journal_backend& x) {
  return out << x.name;
}

class JournalConformance : public ::testing::TestWithParam<journal_backend> {
protected:
  void SetUp() override {
    env_ = GetParam().make();
    ASSERT_NE(env_, nullptr);
    j_ = env_->open();
    ASSERT_NE(j_, nullptr);
  }

  std::unique_ptr<journal_env> env_;
  std::unique_ptr<persistence::journal> j_;
};

} // namespace troupe::test
