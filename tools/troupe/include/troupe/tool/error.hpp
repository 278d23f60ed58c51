// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace troupe::tool {

/// Why a command of the `troupe` tool failed. Each value is the process exit
/// code, so that scripts can tell a typo from a node that is down.
enum class tool_errc : uint8_t {
  /// Anything else (the node answered with an error, a protocol mismatch).
  failed = 1,
  /// Bad command line: unknown flag, malformed address or actor path.
  usage = 2,
  /// The node could not be reached, or did not answer in time.
  unreachable = 3,
  /// `kill`: no actor lives at the given path.
  unknown_path = 4,
};

/// The category atom of the tool's errors.
constexpr caf::atom_value tool_error_category = caf::atom("troupetool");

/// Makes an error of the tool's category; `text` is the one line shown to
/// the user.
caf::error make_error(tool_errc x, std::string text);

/// The exit code for `x`: 0 for no error, the `tool_errc` value for the
/// tool's errors. Errors of other categories map by meaning (a bad troupe
/// config is a usage error, a failed connection or a timeout means
/// unreachable), everything else to 1.
int exit_code(const caf::error& x);

/// Renders `x` as one line: the tool's errors as their text, others through
/// `troupe::describe`.
std::string describe(const caf::error& x);

} // namespace troupe::tool
