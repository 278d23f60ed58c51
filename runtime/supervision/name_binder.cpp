// SPDX-License-Identifier: Apache-2.0
// The per-actor-system table of name binders.
#include "supervision/name_binder.hpp"

#include <map>
#include <mutex>

namespace troupe::supervision {

namespace {

std::mutex mtx;
std::map<const caf::actor_system*, name_binder> binders;

} // namespace

void set_name_binder(caf::actor_system& sys, name_binder fn) {
  std::lock_guard<std::mutex> guard{mtx};
  if (fn)
    binders[&sys] = std::move(fn);
  else
    binders.erase(&sys);
}

name_binder name_binder_of(caf::actor_system& sys) {
  std::lock_guard<std::mutex> guard{mtx};
  auto i = binders.find(&sys);
  return i != binders.end() ? i->second : name_binder{};
}

} // namespace troupe::supervision
