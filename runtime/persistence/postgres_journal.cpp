// SPDX-License-Identifier: Apache-2.0
// The PostgreSQL journal (placeholder until it lands).
#include "troupe/error.hpp"
#include "troupe/persistence/sql_journals.hpp"

namespace troupe::persistence {

caf::expected<std::unique_ptr<journal>>
open_postgres_journal(const std::string&) {
  return make_error(errc::bad_config, "journal: PostgreSQL is not built yet");
}

} // namespace troupe::persistence
