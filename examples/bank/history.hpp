// SPDX-License-Identifier: Apache-2.0
// The history of a chaos run (tools/chaos): one JSON object per line for
// every operation a client invokes and for how it ended, with wall-clock
// milliseconds so that the harness's faults line up with it. Jepsen's
// phases: `invoke`, then `ok` (applied), `fail` (certainly not applied: a
// withdrawal refused for lack of money) or `unknown` (given up on: it may
// or may not have been applied). `retry` lines say why an attempt failed.
#pragma once

#include <chrono>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace bank {

class history {
public:
  explicit history(const std::string& path)
    : out_(std::fopen(path.c_str(), "w")) {
    if (out_ == nullptr)
      throw std::runtime_error("cannot write the history to " + path);
  }

  ~history() {
    std::fclose(out_);
  }

  history(const history&) = delete;
  history& operator=(const history&) = delete;

  /// Milliseconds since the epoch (the harness's clock as well).
  static int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
  }

  /// Writes `x` with its time `t`, as one line, flushed.
  void write(nlohmann::json x) {
    x["t"] = now_ms();
    auto line = x.dump() + "\n";
    std::lock_guard<std::mutex> guard{mtx_};
    std::fputs(line.c_str(), out_);
    std::fflush(out_);
  }

private:
  std::mutex mtx_;
  std::FILE* out_;
};

} // namespace bank
