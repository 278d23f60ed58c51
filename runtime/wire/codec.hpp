// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <caf/fwd.hpp>

namespace google::protobuf {
class Message;
} // namespace google::protobuf

namespace troupe::wire::detail {

/// Status byte written after the type name of a `troupe.proto` element.
enum class frame_status : uint8_t {
  /// The Protobuf bytes follow as a length-prefixed sequence.
  payload = 0,
  /// The sender refused to encode the message (it was over its size
  /// limit); the encoded size follows as a uint64 instead of the bytes.
  refused_too_large = 1,
};

/// What precedes the Protobuf bytes of an element.
struct frame_header {
  std::string type_name;
  frame_status status = frame_status::payload;
  size_t size = 0;
};

/// Reads the header of a `troupe.proto` element.
caf::error read_header(caf::deserializer& source, frame_header& hdr);

/// Bytes of a payload: points into the deserializer's buffer when it can,
/// else into `storage`.
struct payload_view {
  const char* data = nullptr;
  size_t size = 0;
  std::string storage;
};

/// Consumes `size` payload bytes from `source`.
caf::error read_payload(caf::deserializer& source, size_t size,
                        payload_view& out);

/// Parses `size` bytes into `x`; false if they are malformed, or more than
/// Protobuf can parse at once (INT_MAX bytes: its size argument is an int).
[[nodiscard]] bool parse_payload(google::protobuf::Message& x,
                                 const char* data, size_t size);

void count_encoded() noexcept;
void count_decoded() noexcept;
void count_rejected() noexcept;

} // namespace troupe::wire::detail
