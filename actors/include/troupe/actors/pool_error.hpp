// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <stdexcept>
#include <utility>

#include <caf/error.hpp>

#include "troupe/error.hpp"

namespace troupe::actors {

/// What the `std::future` of `pool::map_async` throws when the map failed:
/// the pool's error, with `describe(err)` as its `what()`.
class pool_error : public std::runtime_error {
public:
  explicit pool_error(caf::error err)
    : std::runtime_error(troupe::describe(err)), error_(std::move(err)) {
  }

  const caf::error& error() const noexcept {
    return error_;
  }

private:
  caf::error error_;
};

} // namespace troupe::actors
