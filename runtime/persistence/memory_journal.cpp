// SPDX-License-Identifier: Apache-2.0
// The in-memory journal: a map under a lock, with an undo log per transaction
// and injectable failures.
#include "troupe/persistence/memory_journal.hpp"

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>
#include <unordered_map>

#include "persistence/journal_checks.hpp"
#include "troupe/error.hpp"

namespace troupe::persistence {

namespace {

struct entry {
  uint64_t epoch = 0;
  uint64_t highest = 0;
  std::map<uint64_t, record> events;
  std::map<uint64_t, record> snapshots;
  std::optional<record> state;
  uint64_t state_revision = 0;
};

} // namespace

struct memory_store::impl {
  mutable std::mutex mtx;
  std::unordered_map<std::string, entry> entries;
  std::mutex fail_mtx;
  int write_failures = 0;
  std::string write_text;
  errc write_code = errc::persistence_failed;
  int read_failures = 0;
  std::string read_text;
  bool away = false;
  int failed_reconnects = 0;

  static caf::error lost_connection() {
    return make_error(errc::persistence_failed,
                      "connection lost (injected outage)");
  }

  caf::error outage() {
    std::lock_guard<std::mutex> guard{fail_mtx};
    return away ? lost_connection() : caf::error{};
  }

  bool lost() {
    std::lock_guard<std::mutex> guard{fail_mtx};
    return away;
  }

  caf::error reconnect() {
    std::lock_guard<std::mutex> guard{fail_mtx};
    if (away && failed_reconnects > 0) {
      --failed_reconnects;
      return make_error(errc::persistence_failed,
                        "cannot connect (injected outage)");
    }
    away = false;
    return {};
  }

  caf::error injected(bool write) {
    std::lock_guard<std::mutex> guard{fail_mtx};
    if (away)
      return lost_connection();
    auto& n = write ? write_failures : read_failures;
    if (n <= 0)
      return {};
    --n;
    return make_error(write ? write_code : errc::persistence_failed,
                      write ? write_text : read_text);
  }
};

memory_store::memory_store() : impl_(std::make_unique<impl>()) {
}

memory_store::~memory_store() = default;

void memory_store::fail_writes(int n, std::string text, errc code) {
  std::lock_guard<std::mutex> guard{impl_->fail_mtx};
  impl_->write_failures = n;
  impl_->write_text = std::move(text);
  impl_->write_code = code;
}

void memory_store::go_away(int failed_reconnects) {
  std::lock_guard<std::mutex> guard{impl_->fail_mtx};
  impl_->away = true;
  impl_->failed_reconnects = failed_reconnects;
}

void memory_store::fail_reads(int n, std::string text) {
  std::lock_guard<std::mutex> guard{impl_->fail_mtx};
  impl_->read_failures = n;
  impl_->read_text = std::move(text);
}

size_t memory_store::event_count(const std::string& pid) const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  auto i = impl_->entries.find(pid);
  return i == impl_->entries.end() ? 0 : i->second.events.size();
}

void memory_store::corrupt_event(const std::string& pid, uint64_t seq,
                                 std::string type, std::string bytes) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  auto& ev = impl_->entries[pid].events[seq];
  ev.seq = seq;
  ev.type = std::move(type);
  ev.bytes = std::move(bytes);
}

namespace {

class memory_journal final : public journal {
public:
  explicit memory_journal(std::shared_ptr<memory_store> store)
    : store_(std::move(store)), s_(*store_->impl_) {
  }

  ~memory_journal() override {
    if (in_tx_)
      rollback();
  }

  const char* kind() const noexcept override {
    return "memory";
  }

  caf::error reconnect() override {
    return s_.reconnect();
  }

  bool connection_lost() const noexcept override {
    return s_.lost();
  }

  bool waits() const noexcept override {
    return false; // a mutex and a map: no device, no server
  }

  caf::error begin() override {
    if (in_tx_)
      return make_error(errc::persistence_failed, "transaction already open");
    if (auto err = s_.outage())
      return err;
    s_.mtx.lock();
    in_tx_ = true;
    undo_.clear();
    return {};
  }

  caf::error commit() override {
    if (!in_tx_)
      return {};
    auto err = s_.injected(true);
    if (err) {
      rollback();
      return err;
    }
    undo_.clear();
    in_tx_ = false;
    s_.mtx.unlock();
    return {};
  }

  void rollback() noexcept override {
    if (!in_tx_)
      return;
    for (auto i = undo_.rbegin(); i != undo_.rend(); ++i)
      (*i)();
    undo_.clear();
    in_tx_ = false;
    s_.mtx.unlock();
  }

  caf::expected<uint64_t> take_epoch(const std::string& pid) override {
    return write(pid, [&](entry& e) -> caf::expected<uint64_t> {
      undo_.push_back([&e, old = e.epoch] { e.epoch = old; });
      return ++e.epoch;
    });
  }

  caf::expected<uint64_t> current_epoch(const std::string& pid) override {
    return read(pid, [](const entry* e) -> caf::expected<uint64_t> {
      return e ? e->epoch : 0;
    });
  }

  caf::expected<uint64_t> highest_seq(const std::string& pid) override {
    return read(pid, [](const entry* e) -> caf::expected<uint64_t> {
      return e ? e->highest : 0;
    });
  }

  caf::error append(const std::string& pid, uint64_t epoch,
                    const std::vector<record>& events) override {
    auto res = write(pid, [&](entry& e) -> caf::expected<uint64_t> {
      if (auto err = detail::check_epoch(pid, e.epoch, epoch))
        return err;
      if (auto err = detail::check_append(pid, e.highest, events))
        return err;
      if (events.empty())
        return e.highest;
      undo_.push_back([&e, from = events.front().seq,
                       to = events.back().seq, old = e.highest] {
        e.events.erase(e.events.lower_bound(from), e.events.upper_bound(to));
        e.highest = old;
      });
      for (auto& ev : events)
        e.events.emplace(ev.seq, ev);
      e.highest = events.back().seq;
      return e.highest;
    });
    return res ? caf::error{} : res.error();
  }

  caf::error replay(const std::string& pid, uint64_t from, uint64_t to,
                    uint64_t max,
                    const std::function<void(record&&)>& fn) override {
    std::vector<record> out;
    auto res = read(pid, [&](const entry* e) -> caf::expected<uint64_t> {
      if (e == nullptr)
        return 0;
      for (auto i = e->events.lower_bound(from);
           i != e->events.end() && i->first <= to && out.size() < max; ++i)
        out.push_back(i->second);
      return out.size();
    });
    if (!res)
      return res.error();
    for (auto& x : out)
      fn(std::move(x));
    return {};
  }

  caf::error delete_events(const std::string& pid, uint64_t to) override {
    auto res = write(pid, [&](entry& e) -> caf::expected<uint64_t> {
      auto removed = std::make_shared<std::map<uint64_t, record>>();
      for (auto i = e.events.begin(); i != e.events.end() && i->first <= to;)
        removed->insert(e.events.extract(i++));
      undo_.push_back([&e, removed] { e.events.merge(*removed); });
      return 0;
    });
    return res ? caf::error{} : res.error();
  }

  caf::error save_snapshot(const std::string& pid, uint64_t epoch,
                           const record& snapshot, uint32_t keep) override {
    auto res = write(pid, [&](entry& e) -> caf::expected<uint64_t> {
      if (auto err = detail::check_epoch(pid, e.epoch, epoch))
        return err;
      undo_.push_back([&e, old = e.snapshots] { e.snapshots = old; });
      e.snapshots[snapshot.seq] = snapshot;
      while (e.snapshots.size() > std::max<uint32_t>(keep, 1))
        e.snapshots.erase(e.snapshots.begin());
      return 0;
    });
    return res ? caf::error{} : res.error();
  }

  caf::expected<std::optional<record>>
  load_snapshot(const std::string& pid) override {
    std::optional<record> out;
    auto res = read(pid, [&](const entry* e) -> caf::expected<uint64_t> {
      if (e != nullptr && !e->snapshots.empty())
        out = e->snapshots.rbegin()->second;
      return 0;
    });
    if (!res)
      return res.error();
    return out;
  }

  caf::expected<std::optional<record>>
  load_state(const std::string& pid) override {
    std::optional<record> out;
    auto res = read(pid, [&](const entry* e) -> caf::expected<uint64_t> {
      if (e != nullptr)
        out = e->state;
      return 0;
    });
    if (!res)
      return res.error();
    return out;
  }

  caf::error save_state(const std::string& pid, uint64_t epoch,
                        const record& state) override {
    auto res = write(pid, [&](entry& e) -> caf::expected<uint64_t> {
      if (auto err = detail::check_epoch(pid, e.epoch, epoch))
        return err;
      if (auto err = detail::check_revision(pid, e.state_revision, state.seq))
        return err;
      undo_.push_back([&e, old = e.state, rev = e.state_revision] {
        e.state = old;
        e.state_revision = rev;
      });
      e.state = state;
      e.state_revision = state.seq;
      return 0;
    });
    return res ? caf::error{} : res.error();
  }

  caf::error delete_state(const std::string& pid, uint64_t epoch) override {
    auto res = write(pid, [&](entry& e) -> caf::expected<uint64_t> {
      if (auto err = detail::check_epoch(pid, e.epoch, epoch))
        return err;
      undo_.push_back([&e, old = e.state] { e.state = old; });
      e.state.reset();
      return 0;
    });
    return res ? caf::error{} : res.error();
  }

private:
  /// Runs `fn` on the entry of `pid` (made if missing) inside a
  /// transaction: the open one, or one of its own. A refusal undoes
  /// nothing because `fn` checks before it changes anything.
  template <class F>
  caf::expected<uint64_t> write(const std::string& pid, F fn) {
    if (auto err = s_.injected(true))
      return err;
    bool own = !in_tx_;
    if (own)
      begin();
    auto i = s_.entries.find(pid);
    if (i == s_.entries.end()) {
      i = s_.entries.emplace(pid, entry{}).first;
      undo_.push_back([this, pid] { s_.entries.erase(pid); });
    }
    auto res = fn(i->second);
    if (own) {
      undo_.clear();
      in_tx_ = false;
      s_.mtx.unlock();
    }
    return res;
  }

  template <class F>
  caf::expected<uint64_t> read(const std::string& pid, F fn) {
    if (auto err = s_.injected(false))
      return err;
    std::unique_lock<std::mutex> guard{s_.mtx, std::defer_lock};
    if (!in_tx_)
      guard.lock();
    auto i = s_.entries.find(pid);
    return fn(i == s_.entries.end() ? nullptr : &i->second);
  }

  std::shared_ptr<memory_store> store_;
  memory_store::impl& s_;
  bool in_tx_ = false;
  /// What undoes each change of the open transaction, oldest first.
  std::vector<std::function<void()>> undo_;
};

} // namespace

std::unique_ptr<journal>
make_memory_journal(std::shared_ptr<memory_store> store) {
  return std::make_unique<memory_journal>(std::move(store));
}

std::shared_ptr<memory_store> shared_memory_store(const std::string& name) {
  static std::mutex mtx;
  static std::map<std::string, std::weak_ptr<memory_store>> stores;
  std::lock_guard<std::mutex> guard{mtx};
  for (auto i = stores.begin(); i != stores.end();)
    i = i->second.expired() ? stores.erase(i) : std::next(i);
  auto& slot = stores[name];
  auto store = slot.lock();
  if (!store) {
    store = std::make_shared<memory_store>();
    slot = store;
  }
  return store;
}

} // namespace troupe::persistence
