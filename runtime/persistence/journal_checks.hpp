// SPDX-License-Identifier: Apache-2.0
// What the journals share: the checks before a write (writer epoch,
// consecutive sequence numbers, expected revision; pure functions, so that
// the backends refuse alike) and running a call in a transaction of its own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>

#include "troupe/persistence/journal.hpp"

namespace troupe::persistence::detail {

/// `writer_fenced` unless `epoch` is the stored one (`stored` 0: none
/// taken yet, which refuses every write too).
caf::error check_epoch(const std::string& pid, uint64_t stored,
                       uint64_t epoch);

/// `revision_conflict` unless `events` are numbered `highest + 1`, `+ 2`, ...
caf::error check_append(const std::string& pid, uint64_t highest,
                        const std::vector<record>& events);

/// `revision_conflict` unless `next` is `stored + 1`.
caf::error check_revision(const std::string& pid, uint64_t stored,
                          uint64_t next);

/// Runs `fn` (returning `caf::expected<uint64_t>`) in `j`'s open
/// transaction (`open`), or in one of its own: committed if `fn` succeeds,
/// rolled back if not.
template <class F>
caf::expected<uint64_t> in_transaction(journal& j, bool open, F fn) {
  if (open)
    return fn();
  if (auto err = j.begin())
    return err;
  auto res = fn();
  if (!res) {
    j.rollback();
    return res;
  }
  if (auto err = j.commit())
    return err;
  return res;
}

/// `persistence_failed` naming `pid`, `seq` and what went wrong.
caf::error read_error(const std::string& pid, uint64_t seq,
                      const std::string& what);

} // namespace troupe::persistence::detail
