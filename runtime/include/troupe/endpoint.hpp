// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include <caf/expected.hpp>

namespace troupe {

/// Checks a `host:port` string and splits it; `errc::bad_config` with a
/// one-line description otherwise.
caf::expected<std::pair<std::string, uint16_t>>
parse_endpoint(const std::string& text);

} // namespace troupe
