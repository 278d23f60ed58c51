// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/message.hpp>
#include <caf/message_builder.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "troupe/log.hpp"
#include "troupe/wire/proto.hpp"
#include "troupe_test/test.pb.h"
#include "wire/config_base.hpp"
#include "wire/troupe_types.hpp"

namespace troupe::fuzz {

/// Largest Protobuf payload the fuzzed node takes: small, so that inputs
/// reach the over-the-limit path too.
constexpr size_t max_message_size = 512;

/// Registers what a node registers (wire/troupe_types.hpp), plus the test
/// types a node of the tests adds (troupe_test.Unregistered stays out: the
/// unknown type).
inline void add_node_types(wire::type_registry& types) {
  wire::detail::add_troupe_types(types);
  types.add<troupe_test::Ping>();
  types.add<troupe_test::Pong>();
  types.add<troupe_test::Boom>();
  types.add<troupe_test::Hold>();
}

/// The actor system a fuzzer decodes with, made once per process: CAF's
/// test_coordinator (no scheduler threads, no I/O) and a node's type
/// registry, which CAF's deserializers consult through the execution unit.
class fuzz_system {
public:
  static fuzz_system& get() {
    static fuzz_system* instance = new fuzz_system; // never destroyed
    return *instance;
  }

  caf::execution_unit* unit() {
    return sys_->dummy_execution_unit();
  }

  const wire::type_registry& types() const {
    return cfg_.types;
  }

  caf::actor_system& sys() {
    return *sys_;
  }

private:
  fuzz_system() {
    set_log_level(log_level::off); // a refused message is logged
    cfg_.set("scheduler.policy", caf::atom("testing"));
    cfg_.set("logger.console", caf::atom("none"));
    add_node_types(cfg_.types);
    cfg_.types.max_message_size = max_message_size;
    cfg_.install_types();
    sys_ = std::make_unique<caf::actor_system>(cfg_);
  }

  wire::detail::config_base cfg_;
  std::unique_ptr<caf::actor_system> sys_;
};

/// Decodes the content of a BASP message as CAF's remote_message_handler
/// does: the stages, then the message (its elements by type name). Like
/// CAF's mailbox, gives a message without content an empty one (CAF
/// 0.17's `source(msg)` yields no content, and no error, for a message it
/// cannot decode: BASP delivers it so).
///
/// Some malformed input makes CAF 0.17.6 throw instead of returning an
/// error (a config_value or other variant with an unknown type tag). The
/// node's guarded stream (transport/middleman.cpp) catches that and closes
/// only that connection, so a throw is a refusal here too, not a crash
/// (`Hostile.AMessageThatMakesCafThrowEndsTheConnectionNotTheNode` in
/// tests/cluster/security_test.cpp shows it on a live node).
inline caf::error decode_basp_content(caf::execution_unit* ctx,
                                      const uint8_t* data, size_t size,
                                      caf::message& msg) {
  caf::binary_deserializer source{ctx, reinterpret_cast<const char*>(data),
                                  size};
  std::vector<caf::strong_actor_ptr> stages;
  caf::error err;
  try {
    err = source(stages, msg);
  } catch (const std::exception&) {
    msg = caf::message{};
    return caf::make_error(caf::sec::malformed_basp_message);
  }
  if (msg.vals() == nullptr)
    msg = caf::message_builder{}.to_message();
  return err;
}

/// Stops the fuzzer with a message: a broken invariant is a finding.
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

} // namespace troupe::fuzz
