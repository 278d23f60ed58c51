// SPDX-License-Identifier: Apache-2.0
// The actor types this node can spawn for others (`node::add_actor_type`),
// by name.
#pragma once

#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "troupe/cluster/cluster.hpp"

namespace troupe::cluster {

class actor_types {
public:
  void add(std::string type, actor_factory f);

  /// The factory of `type`, or an empty function.
  actor_factory find(const std::string& type) const;

  /// Every registered type, sorted.
  std::vector<std::string> names() const;

private:
  mutable std::mutex mtx_;
  std::unordered_map<std::string, actor_factory> factories_;
};

} // namespace troupe::cluster
