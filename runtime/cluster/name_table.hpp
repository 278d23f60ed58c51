// SPDX-License-Identifier: Apache-2.0
// The cluster-wide names as this node knows them. The daemon writes them
// (its own registrations and what other members announce); troupe handles
// read them from the sending actor's thread.
#pragma once

#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>

namespace troupe::cluster {

/// A cluster-wide name and who holds it.
struct name_entry {
  caf::actor hdl;
  std::string owner;
  uint64_t owner_incarnation = 0;
  uint64_t stamp = 0;
};

/// Whether `a` wins a conflict over `b`: the later registration, ties
/// broken by owner name. Every node applies the same rule, so all converge.
inline bool wins(const name_entry& a, const name_entry& b) {
  return a.stamp != b.stamp ? a.stamp > b.stamp : a.owner > b.owner;
}

class name_table {
public:
  /// The holder of `name`, or an invalid handle.
  caf::actor whereis(const std::string& name) const;

  std::optional<name_entry> entry(const std::string& name) const;

  std::unordered_map<std::string, name_entry> all() const;

  /// Installs `x` under `name` unless a winning entry is there; returns the
  /// entry that lost (to be killed if it is ours), if any.
  std::optional<name_entry> put(const std::string& name, name_entry x,
                                bool& installed);

  /// Removes `name` if it is still bound to `hdl` (any handle if invalid).
  bool drop(const std::string& name, const caf::actor_addr& hdl);

  /// Removes every name owned by `owner`; returns them.
  std::vector<std::string> drop_owned_by(const std::string& owner);

  /// Moves the names owned by `owner` to its incarnation `incarnation`
  /// (a fenced node's own names carry on into its next incarnation).
  void reown(const std::string& owner, uint64_t incarnation);

  void clear();

private:
  mutable std::shared_mutex mtx_;
  std::unordered_map<std::string, name_entry> names_;
};

} // namespace troupe::cluster
