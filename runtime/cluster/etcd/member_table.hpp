// SPDX-License-Identifier: Apache-2.0
// The members a provider knows, and the events that take one view of them
// to the next: pure, no etcd.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cluster/etcd/member_record.hpp"

namespace troupe::cluster::etcd {

/// The members by name. A name whose record changes incarnation is a new
/// member: the old one `left`, the new one `joined` (the cluster layer
/// fences by incarnation, fencing.hpp); a record that changes otherwise is
/// `updated`. etcd is the truth: a put with a smaller incarnation than the
/// known one is reported like any other change.
///
/// Not thread-safe: its owner guards it.
class member_table {
public:
  /// Replaces the view with a fresh listing and returns the events that
  /// take the old view to it (by name; for one name, `left` before
  /// `joined`).
  std::vector<member_event> reset(const std::vector<member_record>& listing);

  /// The key of `x.name` was put with `x`.
  std::vector<member_event> put(const member_record& x);

  /// The key of `name` went.
  std::vector<member_event> remove(const std::string& name);

  /// Every member, by name.
  std::vector<member_record> members() const;

  size_t size() const noexcept {
    return members_.size();
  }

private:
  // The events from `before` to `after` for one name.
  static void change(const std::optional<member_record>& before,
                     const std::optional<member_record>& after,
                     std::vector<member_event>& out);

  std::map<std::string, member_record> members_;
};

} // namespace troupe::cluster::etcd
