#pragma once

#include <stdexcept>
#include <string>

#include <troupe/actor/stateful_actor.hpp>
#include <troupe/wire/proto.hpp>

#include "troupe_test/test.pb.h"

namespace troupe::test {

/// The actor the multi-node tests talk to: Ping -> Pong, Boom -> throws.
struct echo_state {
  static inline const char* name = "echo";
};

inline caf::behavior echo(stateful_actor<echo_state>*, std::string node) {
  return {
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

} // namespace troupe::test
