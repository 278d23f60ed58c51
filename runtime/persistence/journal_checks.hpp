// SPDX-License-Identifier: Apache-2.0
// The checks every journal makes before it writes: writer epoch, consecutive
// sequence numbers, expected revision. Pure functions, shared by the
// backends so that they refuse alike.
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

/// `persistence_failed` naming `pid`, `seq` and what went wrong.
caf::error read_error(const std::string& pid, uint64_t seq,
                      const std::string& what);

} // namespace troupe::persistence::detail
