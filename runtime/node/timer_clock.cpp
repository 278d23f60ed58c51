// SPDX-License-Identifier: Apache-2.0
#include "node/timer_clock.hpp"

#include <caf/abstract_actor.hpp>

namespace troupe::detail {

void timer_clock::note(caf::actor_id id) {
  auto& s = shard_of(id);
  std::lock_guard<std::mutex> guard{s.mtx};
  s.ids.insert(id);
}

bool timer_clock::noted(caf::actor_id id) {
  auto& s = shard_of(id);
  std::lock_guard<std::mutex> guard{s.mtx};
  return s.ids.count(id) != 0;
}

bool timer_clock::forget(caf::actor_id id) {
  auto& s = shard_of(id);
  std::lock_guard<std::mutex> guard{s.mtx};
  return s.ids.erase(id) != 0;
}

void timer_clock::set_ordinary_timeout(time_point t, caf::abstract_actor* self,
                                       caf::atom_value type, uint64_t id) {
  note(self->id());
  super::set_ordinary_timeout(t, self, type, id);
}

void timer_clock::set_request_timeout(time_point t, caf::abstract_actor* self,
                                      caf::message_id id) {
  note(self->id());
  super::set_request_timeout(t, self, id);
}

void timer_clock::set_multi_timeout(time_point t, caf::abstract_actor* self,
                                    caf::atom_value type, uint64_t id) {
  note(self->id());
  super::set_multi_timeout(t, self, type, id);
}

void timer_clock::cancel_ordinary_timeout(caf::abstract_actor* self,
                                          caf::atom_value type) {
  if (noted(self->id()))
    super::cancel_ordinary_timeout(self, type);
}

void timer_clock::cancel_request_timeout(caf::abstract_actor* self,
                                         caf::message_id id) {
  if (noted(self->id()))
    super::cancel_request_timeout(self, id);
}

void timer_clock::cancel_timeouts(caf::abstract_actor* self) {
  if (forget(self->id()))
    super::cancel_timeouts(self);
}

size_t timer_clock::timed_actors() const {
  size_t n = 0;
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> guard{s.mtx};
    n += s.ids.size();
  }
  return n;
}

} // namespace troupe::detail
