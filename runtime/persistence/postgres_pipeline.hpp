// SPDX-License-Identifier: Apache-2.0
// The PostgreSQL journal's batched appends: many ids' one-statement appends
// sent in libpq's pipeline mode.
#pragma once

#include <libpq-fe.h>

#include <string>
#include <vector>

#include <caf/error.hpp>

#include "persistence/pg_connection.hpp"
#include "persistence/pg_statement.hpp"
#include "troupe/persistence/journal.hpp"

namespace troupe::persistence::detail {

/// Statements per pipeline round trip: a bound, so that neither side's
/// socket buffer fills while the other waits.
constexpr size_t pipeline_chunk = 256;

/// Whether `events` can take the one-statement append (few, numbered in a
/// row): the statement itself then checks epoch and highest.
bool fast_eligible(const std::string& pid, const std::vector<record>& events);

/// The parameter types of a one-statement append of `n` events.
std::vector<Oid> fast_types(size_t n);

/// Fills `p` (in place: it holds pointers into itself) for a one-statement
/// append.
void fast_params(pg_params& p, const std::string& pid, uint64_t epoch,
                 const std::vector<record>& events);

/// Sends the one-statement appends `idx` of `xs` in one pipeline and marks
/// those that wrote in `done` (the others were refused or raced: the caller
/// explains them one by one). An error means the transaction is lost.
caf::error pipeline_appends(pg_connection& c,
                            const std::vector<journal::append_request>& xs,
                            const std::vector<size_t>& idx,
                            std::vector<bool>& done);

} // namespace troupe::persistence::detail
