// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <string_view>

namespace troupe {

/// Severity of a log line.
enum class log_level { trace, debug, info, warn, error, off };

/// Parses `"trace"`, `"debug"`, `"info"`, `"warn"`, `"error"` or `"off"`.
/// Returns false and leaves `out` alone for anything else.
bool parse_log_level(std::string_view text, log_level& out) noexcept;

/// Sets the process-wide minimum level of troupe's log (default: info).
void set_log_level(log_level lvl);

/// Receives every line at or above the current level, after it was written
/// to stderr. Tests use it to assert what was logged. Pass an empty function
/// to remove the observer. Thread-safe.
using log_observer = std::function<void(log_level, std::string_view)>;
void set_log_observer(log_observer fn);

/// Writes one line to troupe's log. Thread-safe.
void log(log_level lvl, std::string_view line);

} // namespace troupe
