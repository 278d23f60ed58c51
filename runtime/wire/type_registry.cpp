// SPDX-License-Identifier: Apache-2.0
#include "troupe/wire/type_registry.hpp"

namespace troupe::wire {

void type_registry::add(type_entry e) {
  if (by_name_.count(e.full_name) != 0)
    return;
  auto ptr = std::make_unique<type_entry>(std::move(e));
  std::string_view key = ptr->full_name;
  by_type_.emplace(std::type_index(*ptr->type), ptr.get());
  by_name_.emplace(key, std::move(ptr));
}

const type_entry* type_registry::find(std::string_view full_name) const {
  auto i = by_name_.find(full_name);
  return i != by_name_.end() ? i->second.get() : nullptr;
}

const type_entry* type_registry::find(const std::type_info& type) const {
  auto i = by_type_.find(std::type_index(type));
  return i != by_type_.end() ? i->second : nullptr;
}

} // namespace troupe::wire
