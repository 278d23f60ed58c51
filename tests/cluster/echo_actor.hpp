// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <troupe/actor/spawn.hpp>
#include <troupe/actor/stateful_actor.hpp>
#include <troupe/node/node.hpp>
#include <troupe/wire/proto.hpp>

#include "troupe_test/test.pb.h"

namespace troupe::test {

/// The actor the multi-node tests talk to: Ping -> Pong, Boom -> throws,
/// Hold -> never answered.
struct echo_state {
  static inline const char* name = "echo";
  std::vector<caf::response_promise> held;
};

/// The echo behavior for any state derived from `echo_state`.
template <class State>
caf::behavior echo_behavior(stateful_actor<State>* self, std::string node) {
  return {
    [self](const troupe_test::Hold&) {
      self->state.held.emplace_back(self->make_response_promise());
    },
    [node](const troupe_test::Ping& x) {
      troupe_test::Pong reply;
      reply.set_seq(x.seq());
      reply.set_from(node);
      return reply;
    },
    [](const troupe_test::Boom& x) -> troupe_test::Pong {
      throw std::runtime_error(x.why());
    },
  };
}

/// Registers the messages the echo actor takes and answers.
inline void add_echo_types(troupe::node& n) {
  n.add_message_type<troupe_test::Ping>()
    .add_message_type<troupe_test::Pong>()
    .add_message_type<troupe_test::Boom>()
    .add_message_type<troupe_test::Hold>();
}

inline caf::behavior echo(stateful_actor<echo_state>* self, std::string node) {
  return echo_behavior(self, std::move(node));
}

/// Makes `n` a host of the actor type "echo" (placed or spawned there by
/// other nodes), whose Pongs name `n`; registers the messages it takes.
inline void add_echo_host(troupe::node& n) {
  add_echo_types(n);
  n.add_actor_type("echo", [name = n.name()](caf::actor_system& sys,
                                             const caf::message&) {
    return troupe::spawn(sys, echo, name);
  });
}

} // namespace troupe::test
