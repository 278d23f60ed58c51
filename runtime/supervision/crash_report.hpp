// SPDX-License-Identifier: Apache-2.0
// Crash reports: one log line per failure and decision, rate-limited.
#pragma once

#include <cstdint>
#include <string>

#include "troupe/log.hpp"

namespace troupe::supervision {

/// Writes `line` to troupe's log at `lvl` unless the process-wide budget
/// of crash reports is spent (20 at once, then one per 100 ms of the
/// steady clock); the next line written says how many were dropped.
/// Thread-safe.
void crash_report(log_level lvl, std::string line);

/// Takes one crash report from the budget: false when it is spent (the
/// report is dropped and counted); else `dropped` says how many were
/// dropped before it. For callers that build the line only when it is
/// written (`write_crash_report`).
bool take_crash_report(uint64_t& dropped);

/// Writes a line `take_crash_report` allowed.
void write_crash_report(log_level lvl, std::string line, uint64_t dropped);

/// Refills the budget (tests start from a known state).
void reset_crash_report_budget();

} // namespace troupe::supervision
