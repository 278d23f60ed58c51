// SPDX-License-Identifier: Apache-2.0
// What every journal shares: the checks before a write, recovery built from
// the primitive calls, and opening a journal by location.
#include "troupe/persistence/journal.hpp"

#include <limits>

#include "persistence/journal_checks.hpp"
#include "troupe/error.hpp"
#include "troupe/persistence/memory_journal.hpp"
#include "troupe/persistence/sql_journals.hpp"

namespace troupe::persistence {

namespace detail {

caf::error check_epoch(const std::string& pid, uint64_t stored,
                       uint64_t epoch) {
  if (stored == epoch && epoch != 0)
    return {};
  return make_error(errc::writer_fenced,
                    "persistence id '" + pid + "': writer epoch "
                      + std::to_string(epoch)
                      + " is stale, a newer incarnation took epoch "
                      + std::to_string(stored));
}

caf::error check_append(const std::string& pid, uint64_t highest,
                        const std::vector<record>& events) {
  auto expected = highest + 1;
  for (auto& ev : events) {
    if (ev.seq != expected)
      return make_error(errc::revision_conflict,
                        "persistence id '" + pid + "': event sequence number "
                          + std::to_string(ev.seq) + " where "
                          + std::to_string(expected) + " was expected");
    ++expected;
  }
  return {};
}

caf::error check_revision(const std::string& pid, uint64_t stored,
                          uint64_t next) {
  if (next == stored + 1)
    return {};
  return make_error(errc::revision_conflict,
                    "persistence id '" + pid + "': saving revision "
                      + std::to_string(next) + " over stored revision "
                      + std::to_string(stored));
}

caf::error read_error(const std::string& pid, uint64_t seq,
                      const std::string& what) {
  return make_error(errc::persistence_failed,
                    "persistence id '" + pid + "' sequence number "
                      + std::to_string(seq) + ": " + what);
}

} // namespace detail

journal::~journal() = default;

caf::error journal::reconnect() {
  return {};
}

bool journal::waits() const noexcept {
  return true;
}

bool journal::connection_lost() const noexcept {
  return false;
}

std::vector<caf::error>
journal::append_all(const std::vector<append_request>& xs) {
  std::vector<caf::error> out;
  out.reserve(xs.size());
  for (auto& x : xs)
    out.push_back(append(*x.pid, x.epoch, *x.events));
  return out;
}

caf::expected<recovery> journal::recover(const std::string& pid) {
  recovery out;
  auto epoch = take_epoch(pid);
  if (!epoch)
    return epoch.error();
  out.epoch = *epoch;
  auto highest = highest_seq(pid);
  if (!highest)
    return highest.error();
  out.highest_seq = *highest;
  auto snap = load_snapshot(pid);
  if (!snap)
    return snap.error();
  out.snapshot = std::move(*snap);
  auto from = out.snapshot ? out.snapshot->seq + 1 : 1;
  if (from <= out.highest_seq) {
    auto err = replay(pid, from, out.highest_seq,
                      std::numeric_limits<uint64_t>::max(),
                      [&](record&& x) { out.events.push_back(std::move(x)); });
    if (err)
      return err;
  }
  auto expected = from;
  for (auto& ev : out.events) {
    if (ev.seq != expected)
      return detail::read_error(pid, expected,
                                "the journal has a gap (next stored event is "
                                  + std::to_string(ev.seq) + ")");
    ++expected;
  }
  if (expected != out.highest_seq + 1 && from <= out.highest_seq)
    return detail::read_error(pid, expected,
                              "the journal ends before its highest sequence "
                              "number "
                                + std::to_string(out.highest_seq));
  return out;
}

caf::expected<recovery> journal::recover_state(const std::string& pid) {
  recovery out;
  auto epoch = take_epoch(pid);
  if (!epoch)
    return epoch.error();
  out.epoch = *epoch;
  auto state = load_state(pid);
  if (!state)
    return state.error();
  out.state = std::move(*state);
  return out;
}

caf::expected<std::unique_ptr<journal>>
open_journal(const std::string& where) {
  auto starts = [&](const char* prefix) {
    return where.rfind(prefix, 0) == 0;
  };
  if (where == "memory" || where == "memory:")
    return make_memory_journal();
  if (starts("memory:"))
    return make_memory_journal(shared_memory_store(where.substr(7)));
  if (starts("postgresql://") || starts("postgres://"))
    return open_postgres_journal(where);
  if (starts("sqlite:"))
    return open_sqlite_journal(where.substr(7));
  if (where.empty())
    return make_error(errc::bad_config, "journal: empty location");
  return open_sqlite_journal(where);
}

} // namespace troupe::persistence
