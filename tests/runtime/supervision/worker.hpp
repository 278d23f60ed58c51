// SPDX-License-Identifier: Apache-2.0
// The state the supervision tests' workers share: an id, a sum, and a
// journal that outlives restarts, into which the worker writes
// "start <id>" and "stop <id>".
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>

namespace troupe::test {

using journal = std::shared_ptr<std::vector<std::string>>;

/// A test's worker state derives from this and adds its `name`.
struct journaled_state {
  std::string id;
  journal log;
  int sum = 0;

  template <class Self>
  void on_start(Self*) {
    log->push_back("start " + id);
  }

  template <class Self>
  void on_stop(Self*, const caf::error&) {
    log->push_back("stop " + id);
  }
};

} // namespace troupe::test
