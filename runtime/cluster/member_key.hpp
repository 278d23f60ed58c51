// SPDX-License-Identifier: Apache-2.0
// A member's identity in the gossip and monitoring rules: its name and the
// incarnation of its process (fencing.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <tuple>

namespace troupe::cluster {

/// One incarnation of a member. A restarted process (or a node that was
/// fenced) is the same name with a larger incarnation.
struct member_key {
  std::string name;
  uint64_t incarnation = 0;
};

inline bool operator==(const member_key& x, const member_key& y) noexcept {
  return x.incarnation == y.incarnation && x.name == y.name;
}

inline bool operator!=(const member_key& x, const member_key& y) noexcept {
  return !(x == y);
}

inline bool operator<(const member_key& x, const member_key& y) noexcept {
  return std::tie(x.name, x.incarnation) < std::tie(y.name, y.incarnation);
}

} // namespace troupe::cluster
