// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

namespace troupe::actors {

/// How a router picks the routee of a message (Akka's router logics).
enum class routing {
  /// The routees in turn.
  round_robin,
  /// A routee drawn at random (seeded: see `router_options::seed`).
  random,
  /// The routee with the fewest queued messages. Troupe actors answer
  /// `mailbox_depth_atom` before their own handlers; the router asks every
  /// `depth_refresh` messages and adds what it sent since, so its view is
  /// an estimate, as Akka's is for remote routees.
  smallest_mailbox,
  /// The routee that owns the message's key on a hash ring (with
  /// `virtual_nodes` points per routee): one key always reaches the same
  /// routee, and a routee that joins or leaves moves only its own keys.
  consistent_hash,
  /// Every routee gets a copy. A request is answered by the first routee;
  /// the others get it one-way, as with Akka's broadcast and `ask`.
  broadcast,
};

const char* to_string(routing x) noexcept;

struct router_options {
  routing how = routing::round_robin;
  /// consistent_hash: the key of a message; a message without one is
  /// refused (a request gets `errc::rejected_message`).
  std::function<std::optional<std::string>(const caf::message&)> key;
  /// consistent_hash: points per routee on the ring.
  size_t virtual_nodes = 64;
  /// random: seed of the generator; 0 seeds from the router's id.
  uint64_t seed = 0;
  /// smallest_mailbox: messages routed between two depth queries.
  size_t depth_refresh = 16;
};

/// `(add_routee_atom, caf::actor)`: adds a routee.
using add_routee_atom = caf::atom_constant<caf::atom("trp_radd")>;

/// `(remove_routee_atom, caf::actor)`: removes a routee.
using remove_routee_atom = caf::atom_constant<caf::atom("trp_rdel")>;

/// `(get_routees_atom)`: answers the routees (`std::vector<caf::actor>`).
using get_routees_atom = caf::atom_constant<caf::atom("trp_rget")>;

/// Spawns a router over `routees`: every message other than the three
/// above is passed on unchanged to the routee(s) `opts.how` picks, with its
/// sender and request id, so the routee answers the original sender.
/// Routees that terminate are dropped. A request that reaches a router
/// without routees gets `errc::name_not_found`. Fails with
/// `errc::bad_config` for consistent hashing without a key function or
/// with no virtual nodes.
caf::expected<caf::actor> spawn_router(caf::actor_system& sys,
                                       std::vector<caf::actor> routees,
                                       router_options opts = {});

} // namespace troupe::actors
