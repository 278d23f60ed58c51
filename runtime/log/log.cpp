// SPDX-License-Identifier: Apache-2.0
#include "troupe/log.hpp"

#include <atomic>
#include <memory>
#include <mutex>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace troupe {

namespace {

std::atomic<log_level> current_level{log_level::info};

struct log_state {
  std::mutex mtx;
  log_observer observer;
  std::shared_ptr<spdlog::logger> logger;

  log_state() {
    logger = spdlog::stderr_logger_st("troupe");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e [%l] troupe[%P]: %v");
    logger->set_level(spdlog::level::trace);
  }
};

log_state& state() {
  static log_state instance;
  return instance;
}

spdlog::level::level_enum to_spdlog(log_level lvl) {
  switch (lvl) {
    case log_level::trace:
      return spdlog::level::trace;
    case log_level::debug:
      return spdlog::level::debug;
    case log_level::info:
      return spdlog::level::info;
    case log_level::warn:
      return spdlog::level::warn;
    case log_level::error:
      return spdlog::level::err;
    case log_level::off:
      break;
  }
  return spdlog::level::off;
}

} // namespace

bool parse_log_level(std::string_view text, log_level& out) noexcept {
  static constexpr std::pair<std::string_view, log_level> names[] = {
    {"trace", log_level::trace}, {"debug", log_level::debug},
    {"info", log_level::info},   {"warn", log_level::warn},
    {"error", log_level::error}, {"off", log_level::off},
  };
  for (auto& [name, lvl] : names)
    if (name == text) {
      out = lvl;
      return true;
    }
  return false;
}

void set_log_level(log_level lvl) {
  current_level.store(lvl, std::memory_order_relaxed);
}

void set_log_observer(log_observer fn) {
  auto& st = state();
  std::lock_guard<std::mutex> guard{st.mtx};
  st.observer = std::move(fn);
}

void log(log_level lvl, std::string_view line) {
  if (lvl == log_level::off
      || lvl < current_level.load(std::memory_order_relaxed))
    return;
  auto& st = state();
  std::lock_guard<std::mutex> guard{st.mtx};
  st.logger->log(to_spdlog(lvl), line);
  if (st.observer)
    st.observer(lvl, line);
}

} // namespace troupe
