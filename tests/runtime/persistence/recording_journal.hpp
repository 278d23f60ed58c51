// SPDX-License-Identifier: Apache-2.0
// A journal that records what reached it, for interleaving_test.cpp: every
// epoch taken and every write, in the order the journal ran them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>

#include "troupe/persistence/journal.hpp"

namespace troupe::test {

using persistence::journal;
using persistence::record;

struct journal_call {
  enum { take, append, save } op;
  uint64_t epoch = 0; // the epoch written with (take: the one taken)
  uint64_t first = 0; // first sequence number / revision
  size_t n = 0;
  caf::error err;
};

using call_log = std::vector<journal_call>;

/// Forwards to a memory journal and logs epochs taken and writes made, in
/// the order the journal ran them.
class recording_journal final : public journal {
public:
  recording_journal(std::unique_ptr<journal> j, std::shared_ptr<call_log> log)
    : j_(std::move(j)), log_(std::move(log)) {
  }
  const char* kind() const noexcept override {
    return j_->kind();
  }
  caf::error begin() override {
    return j_->begin();
  }
  caf::error commit() override {
    return j_->commit();
  }
  void rollback() noexcept override {
    j_->rollback();
  }
  caf::expected<uint64_t> take_epoch(const std::string& pid) override {
    auto res = j_->take_epoch(pid);
    if (res)
      log_->push_back({journal_call::take, *res, 0, 0, {}});
    return res;
  }
  caf::expected<uint64_t> current_epoch(const std::string& pid) override {
    return j_->current_epoch(pid);
  }
  caf::expected<uint64_t> highest_seq(const std::string& pid) override {
    return j_->highest_seq(pid);
  }
  caf::error append(const std::string& pid, uint64_t epoch,
                    const std::vector<record>& events) override {
    auto err = j_->append(pid, epoch, events);
    log_->push_back({journal_call::append, epoch,
                     events.empty() ? 0 : events.front().seq, events.size(),
                     err});
    return err;
  }
  caf::error replay(const std::string& pid, uint64_t from, uint64_t to,
                    uint64_t max,
                    const std::function<void(record&&)>& fn) override {
    return j_->replay(pid, from, to, max, fn);
  }
  caf::error delete_events(const std::string& pid, uint64_t to) override {
    return j_->delete_events(pid, to);
  }
  caf::error save_snapshot(const std::string& pid, uint64_t epoch,
                           const record& snapshot, uint32_t keep) override {
    return j_->save_snapshot(pid, epoch, snapshot, keep);
  }
  caf::expected<std::optional<record>>
  load_snapshot(const std::string& pid) override {
    return j_->load_snapshot(pid);
  }
  caf::expected<std::optional<record>>
  load_state(const std::string& pid) override {
    return j_->load_state(pid);
  }
  caf::error save_state(const std::string& pid, uint64_t epoch,
                        const record& state) override {
    auto err = j_->save_state(pid, epoch, state);
    log_->push_back({journal_call::save, epoch, state.seq, 1, err});
    return err;
  }
  caf::error delete_state(const std::string& pid, uint64_t epoch) override {
    return j_->delete_state(pid, epoch);
  }

private:
  std::unique_ptr<journal> j_;
  std::shared_ptr<call_log> log_;
};

} // namespace troupe::test
