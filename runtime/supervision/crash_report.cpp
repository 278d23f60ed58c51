// SPDX-License-Identifier: Apache-2.0
// The process-wide budget of crash report lines.
#include "supervision/crash_report.hpp"

#include <chrono>
#include <mutex>

#include <fmt/format.h>

#include "supervision/decision.hpp"

namespace troupe::supervision {

namespace {

constexpr size_t burst = 20;
constexpr auto refill = std::chrono::milliseconds{100};

std::mutex mtx;
report_budget budget{burst, refill};

} // namespace

bool take_crash_report(uint64_t& dropped) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> guard{mtx};
  if (!budget.take(now))
    return false;
  dropped = budget.take_suppressed();
  return true;
}

void write_crash_report(log_level lvl, std::string line, uint64_t dropped) {
  if (dropped > 0)
    line += fmt::format(" ({} crash report(s) dropped before this one: more "
                        "than 20 at once or 10 per second)",
                        dropped);
  log(lvl, line);
}

void crash_report(log_level lvl, std::string line) {
  uint64_t dropped = 0;
  if (take_crash_report(dropped))
    write_crash_report(lvl, std::move(line), dropped);
}

void reset_crash_report_budget() {
  std::lock_guard<std::mutex> guard{mtx};
  budget = report_budget{burst, refill};
}

} // namespace troupe::supervision
