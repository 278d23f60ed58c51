// SPDX-License-Identifier: Apache-2.0
// Small helpers over libpq: an owned result, binary parameters and binary
// column readers.
#pragma once

#include <libpq-fe.h>

#include "troupe/error.hpp"

#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace troupe::persistence::detail {

/// The PostgreSQL type ids of the parameters the journal sends.
constexpr Oid pg_int8 = 20;
constexpr Oid pg_text = 25;
constexpr Oid pg_bytea = 17;

struct pg_result_deleter {
  void operator()(PGresult* x) const noexcept {
    PQclear(x);
  }
};

/// An owned `PGresult` (null when libpq ran out of memory or lost the
/// connection before a result arrived).
using pg_result = std::unique_ptr<PGresult, pg_result_deleter>;

/// Parameters of one statement, all sent in binary format: integers as
/// big-endian int8, texts and byte strings as their bytes. The referenced
/// strings must outlive the call that sends the parameters.
class pg_params {
public:
  void add(uint64_t x) {
    uint64_t be = 0;
    for (int i = 0; i < 8; ++i)
      reinterpret_cast<unsigned char*>(&be)[i]
        = static_cast<unsigned char>(x >> (56 - 8 * i));
    ints_.push_back(be);
    push(reinterpret_cast<const char*>(&ints_.back()), 8);
  }

  void add(const std::string& x) {
    push(x.data(), static_cast<int>(x.size()));
  }

  int size() const noexcept {
    return static_cast<int>(values_.size());
  }

  const char* const* values() const noexcept {
    return values_.data();
  }

  const int* lengths() const noexcept {
    return lengths_.data();
  }

  const int* formats() const noexcept {
    return formats_.data();
  }

private:
  void push(const char* data, int len) {
    // libpq reads no bytes of a zero-length binary value but wants a pointer.
    values_.push_back(data != nullptr ? data : "");
    lengths_.push_back(len);
    formats_.push_back(1);
  }

  std::deque<uint64_t> ints_; // stable addresses while growing
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

/// Reads a binary int8 (or int4) column as an unsigned number.
inline uint64_t pg_u64(const PGresult* res, int row, int col) {
  auto len = PQgetlength(res, row, col);
  auto* p = reinterpret_cast<const unsigned char*>(PQgetvalue(res, row, col));
  uint64_t out = 0;
  for (int i = 0; i < len && i < 8; ++i)
    out = (out << 8) | p[i];
  return out;
}

/// Reads a binary text or bytea column as its bytes.
inline std::string pg_bytes(const PGresult* res, int row, int col) {
  return std::string(PQgetvalue(res, row, col),
                     static_cast<size_t>(PQgetlength(res, row, col)));
}

/// The code of a journal failure from its result: `transaction_conflict`
/// for PostgreSQL's deadlock (40P01) and serialization failure (40001),
/// after which the transaction is gone and may simply run again;
/// `persistence_failed` otherwise.
inline errc pg_failure_code(const PGresult* res) {
  const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
                                     : nullptr;
  if (state != nullptr
      && (std::strcmp(state, "40P01") == 0 || std::strcmp(state, "40001") == 0))
    return errc::transaction_conflict;
  return errc::persistence_failed;
}

/// libpq's message on one line: newlines and the "ERROR:  " prefix removed.
inline std::string pg_one_line(const char* msg) {
  std::string out = msg != nullptr ? msg : "";
  for (auto& c : out)
    if (c == '\n' || c == '\r' || c == '\t')
      c = ' ';
  while (!out.empty() && out.back() == ' ')
    out.pop_back();
  for (const char* prefix : {"ERROR:  ", "FATAL:  "})
    if (out.rfind(prefix, 0) == 0)
      out.erase(0, std::strlen(prefix));
  if (out.empty())
    out = "unknown error";
  return out;
}

} // namespace troupe::persistence::detail
