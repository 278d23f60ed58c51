// SPDX-License-Identifier: Apache-2.0
// The persistent counter of the persistence tests: an event-sourced actor
// that stores one event per `(add, n)` request.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include <caf/atom.hpp>
#include <caf/behavior.hpp>

#include "troupe/persistence/event_sourced.hpp"
#include "troupe_test/test.pb.h"

namespace troupe::test {

using add_atom = caf::atom_constant<caf::atom("add")>;
using total_atom = caf::atom_constant<caf::atom("total")>;
using counter_actor =
  persistence::event_sourced<troupe_test::CounterState, troupe_test::CounterEvent>;

/// The fold of the counter: pure.
inline void apply_counter(troupe_test::CounterState& s,
                          const troupe_test::CounterEvent& e) {
  s.set_total(s.total() + e.add());
  s.set_events(s.events() + 1);
}

/// A counter: `(add, n)` stores an event and answers the new total;
/// `(total)` answers the total; an int throws (a crash).
inline caf::behavior counter(counter_actor* self, std::string key,
                             persistence::snapshot_policy policy) {
  self->setup({"counter", key}, apply_counter, policy);
  return {
    [self](add_atom, int64_t n) -> caf::result<int64_t> {
      auto rp = self->make_response_promise<int64_t>();
      troupe_test::CounterEvent ev;
      ev.set_add(n);
      self->persist(std::move(ev), [rp](const troupe_test::CounterState& s) mutable {
        rp.deliver(static_cast<int64_t>(s.total()));
      });
      return rp;
    },
    [self](total_atom) { return static_cast<int64_t>(self->state().total()); },
    [](int) -> int64_t { throw std::runtime_error("crash on request"); },
  };
}

} // namespace troupe::test
