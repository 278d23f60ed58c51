#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include <caf/actor_system_config.hpp>
#include <caf/execution_unit.hpp>

#include "troupe/wire/type_registry.hpp"

namespace troupe::wire::detail {

/// Why a one-way message reached no handler.
enum class dead_letter : uint8_t {
  /// Its receiver is on a node that is down (or its link closed with it).
  node_down,
  /// It was sent to a cluster-wide name nobody holds.
  name_not_found,
  /// Its receiver had ended.
  actor_gone,
  /// A bounded mailbox discarded it.
  mailbox_full,
};

constexpr size_t dead_letter_reasons = 4;

/// Returns the reason's label, such as `"actor_gone"`.
const char* to_string(dead_letter x) noexcept;

/// What a node counts of the messages it lost (relaxed atomics: any thread
/// adds, readers take a snapshot).
struct letter_counts {
  std::array<std::atomic<uint64_t>, dead_letter_reasons> dead{};
  /// Messages (one-way and requests) that bounded mailboxes discarded.
  std::atomic<uint64_t> mailbox_dropped{0};

  uint64_t dead_total() const noexcept;
};

/// The CAF config of a troupe node. It carries the node's Protobuf type
/// registry so that CAF's (de)serializers, which only see an
/// `execution_unit*`, can find it.
class config_base : public caf::actor_system_config {
public:
  type_registry types;

  /// The node's lost messages. Here rather than in the cluster layer: the
  /// actor layer counts too, and all it can see is its actor system.
  mutable letter_counts letters;

  /// Hands the registry's types to CAF: call once, after the last `add`,
  /// before the actor system starts.
  void install_types();
};

/// Returns the registry of the system that runs `ctx`, or null.
const type_registry* registry_of(caf::execution_unit* ctx) noexcept;

/// The counts of `sys`, or null when it is not a troupe node's system.
letter_counts* letters_of(const caf::actor_system& sys) noexcept;

/// Counts `n` dead letters of `why` on `sys`'s node; returns the node's
/// count of that reason so far (0 when `sys` keeps none), so that callers
/// can log the first and then every thousandth.
uint64_t count_dead_letter(const caf::actor_system& sys, dead_letter why,
                           uint64_t n = 1) noexcept;

/// The CAF type name under which all Protobuf messages travel. The Protobuf
/// full name follows inside the payload, so that a receiver can name (and
/// refuse) a type it does not know instead of dropping the frame.
constexpr const char* proto_caf_name = "troupe.proto";

} // namespace troupe::wire::detail
