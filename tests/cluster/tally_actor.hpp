// SPDX-License-Identifier: Apache-2.0
// A persistent actor that writes by itself: it stores an event every few
// milliseconds, each naming the node that wrote it, so that a test can read
// from the journal which incarnation wrote what.
#pragma once

#include <chrono>
#include <string>

#include <troupe/actor/spawn.hpp>
#include "runtime/persistence/counter_actor.hpp"

namespace troupe::test {

using tally_actor = counter_actor;
using tick_atom = caf::atom_constant<caf::atom("tick")>;

/// Persistence id "tally|<key>"; an event (add 1, note = this node's name)
/// every 5 ms once recovered. Ping answers Pong{seq: total, from: node}.
inline caf::behavior tally(tally_actor* self, std::string key,
                           std::string node) {
  using namespace std::chrono_literals;
  self->setup({"tally", key}, apply_counter);
  self->on_recovered([](tally_actor* me) { me->send(me, tick_atom::value); });
  return {
    [self, node](tick_atom) {
      troupe_test::CounterEvent ev;
      ev.set_add(1);
      ev.set_note(node);
      self->persist(std::move(ev), [self] {
        self->delayed_send(self, 5ms, tick_atom::value);
      });
    },
    [self, node](const troupe_test::Ping&) {
      troupe_test::Pong out;
      out.set_seq(static_cast<uint64_t>(self->state().total()));
      out.set_from(node);
      return out;
    },
  };
}

} // namespace troupe::test
