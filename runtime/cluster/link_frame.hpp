// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>
#include <caf/message_id.hpp>
#include <caf/node_id.hpp>

namespace troupe::wire {
class type_registry;
} // namespace troupe::wire

/// The byte layout of troupe's direct links (see `link_layer`): the
/// encoders of what a link's writer sends, and the parsers of what its
/// reader receives. They only touch memory: the links do the I/O and act on
/// the result, and the fuzzer (tests/fuzz/link_frame_fuzz.cpp) feeds the
/// parsers arbitrary bytes.
///
/// Every frame is a u32 big-endian length of what follows, then a kind
/// byte. The dialer's first frame is its handshake (`kind_hello`; under a
/// cluster secret, after the acceptor's challenge and ending with a proof:
/// link_handshake.hpp); every later one is a message (`kind_message`).
namespace troupe::cluster::link_frame {

constexpr uint8_t kind_message = 1;
constexpr uint8_t kind_hello = 2;
constexpr char hello_magic[4] = {'T', 'R', 'P', '1'};
/// The one byte an acceptor answers a hello with once it accepts the dialer
/// (see link_handshake.hpp).
constexpr uint8_t handshake_ok = 0x5a;

// How a message frame names its sender.
constexpr uint8_t sender_none = 0;
constexpr uint8_t sender_of_writer = 1; // an actor on the writing node
constexpr uint8_t sender_full = 2;      // node id + actor id
constexpr uint8_t sender_of_reader = 3; // an actor on the reading node

// How a message frame carries its content.
constexpr uint8_t payload_proto = 1; // name length, name, Protobuf bytes
constexpr uint8_t payload_caf = 2;   // CAF's encoding of the whole message

/// Writes a frame's length prefix (what follows it) at `p`.
void put_length(char* p, uint32_t size);

/// Reads a frame's length prefix at `p`.
uint32_t get_length(const char* p);

/// A handshake body: kind, "TRP1", the dialer's node id (CAF's encoding),
/// then where the dialer's own data port listens.
struct hello {
  caf::node_id node;
  /// 0 when the dialer sent no (readable) back address.
  uint16_t back_port = 0;
  std::string back_host;
};

/// Appends a handshake body (no length prefix: a proof may follow it).
void encode_hello(caf::actor_system& sys, const hello& x,
                  std::vector<char>& out);

/// Reads a handshake body (the bytes after its length). Returns false if
/// it is not a troupe link handshake (or names no node).
[[nodiscard]] bool parse_hello(caf::execution_unit* ctx, const char* data,
                               size_t size, hello& out);

/// A message frame, read.
struct message {
  caf::actor_id dest = caf::invalid_actor_id;
  caf::message_id mid;
  /// One of the `sender_*` kinds; `sender` and `sender_node` are set as
  /// that kind says.
  uint8_t sender_kind = sender_none;
  caf::actor_id sender = caf::invalid_actor_id;
  caf::node_id sender_node;
  /// What the destination gets: the decoded message, or a
  /// `rejected_message` for a Protobuf payload the node does not take
  /// (unregistered type, over max-message-size, malformed).
  caf::message content;
};

/// Appends a message frame, length prefix and all, carrying `x` (its
/// sender, message id and content) for actor `dest` on node `peer`: a
/// sender on `sys`'s node or on `peer` by id alone, a single registered
/// Protobuf message (`types`, may be null) by its bytes, anything else in
/// CAF's encoding. Returns false, appending nothing, if CAF cannot encode
/// the sender's node or the content.
[[nodiscard]] bool encode_message(caf::actor_system& sys,
                                  const wire::type_registry* types,
                                  uint64_t dest, caf::mailbox_element& x,
                                  const caf::node_id& peer,
                                  std::vector<char>& out);

/// Reads a message frame body (the bytes after its length), decoding its
/// content with `ctx` (CAF's encoding) and `types` (Protobuf payloads; null
/// rejects them all). Returns an empty string, or why the frame is
/// malformed (the reader then drops the connection).
[[nodiscard]] std::string parse_message(caf::execution_unit* ctx,
                                        const wire::type_registry* types,
                                        const char* data, size_t size,
                                        message& out);

} // namespace troupe::cluster::link_frame
