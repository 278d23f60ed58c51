// SPDX-License-Identifier: Apache-2.0
// What a node keeps about itself in etcd, where it keeps it, and the
// changes a provider reports.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cluster/etcd/result.hpp"

namespace troupe::cluster::etcd {

/// One member, as its node put it in etcd: the identity of the cluster
/// layer (`member_key`: name and incarnation) and where it listens.
struct member_record {
  std::string name;
  uint64_t incarnation = 0;
  std::string host;
  uint16_t port = 0;
};

bool operator==(const member_record& x, const member_record& y) noexcept;

inline bool operator!=(const member_record& x,
                       const member_record& y) noexcept {
  return !(x == y);
}

/// A change of the membership.
struct member_event {
  enum kind {
    /// A member appeared (a new name, or a new incarnation of a name: then
    /// `left` of the old one comes first).
    joined,
    /// The same incarnation put a different record (say, a new port).
    updated,
    /// A member's key went: revoked on a clean stop, or its lease expired.
    left,
  };
  kind type = joined;
  /// The record (for `left`, the last one known).
  member_record member;
};

const char* to_string(member_event::kind x) noexcept;

/// `/troupe/<cluster>/members/`: where every member of `cluster` is.
std::string members_prefix(std::string_view cluster);

/// The key of `name` in `cluster`.
std::string member_key_of(std::string_view cluster, std::string_view name);

/// Checks a cluster or member name for use in a key: not empty, no `/`,
/// no control characters. `errc::invalid` otherwise.
result<done> check_key_part(std::string_view what, std::string_view x);

/// `{"name":..., "incarnation":..., "host":..., "port":...}`.
std::string to_json(const member_record& x);

/// Reads a record back; `errc::bad_response` for anything malformed.
/// Unknown fields are ignored (a newer node may add some).
result<member_record> parse_member_record(std::string_view json_text);

} // namespace troupe::cluster::etcd
