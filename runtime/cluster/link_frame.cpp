// SPDX-License-Identifier: Apache-2.0
#include "cluster/link_frame.hpp"

#include <cstring>
#include <string_view>

#include <caf/actor_system.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/error.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/type_erased_tuple.hpp>
#include <fmt/format.h>

#include "troupe/error.hpp"
#include "troupe/wire/rejected_message.hpp"
#include "troupe/wire/type_registry.hpp"
#include "wire/codec.hpp"
#include "wire/proto_value.hpp"

namespace troupe::cluster::link_frame {

namespace {

/// Reads the fixed-size fields of a frame; `ok` turns false on overrun.
struct cursor {
  const char* pos;
  const char* end;
  bool ok = true;

  size_t left() const {
    return static_cast<size_t>(end - pos);
  }

  uint8_t u8() {
    if (left() < 1) {
      ok = false;
      return 0;
    }
    return static_cast<uint8_t>(*pos++);
  }

  uint64_t u64() {
    if (left() < 8) {
      ok = false;
      return 0;
    }
    uint64_t x = 0;
    for (int i = 0; i < 8; ++i)
      x = (x << 8) | static_cast<unsigned char>(pos[i]);
    pos += 8;
    return x;
  }
};

/// The content of a `payload_proto` frame: the registered type, or a
/// rejected_message that says why not (as on CAF's path: the actor gets
/// one, not silence).
caf::message decode_proto(const wire::type_registry* types,
                          std::string_view name, const char* data,
                          size_t size) {
  auto entry = types != nullptr ? types->find(name) : nullptr;
  std::string why;
  if (entry == nullptr) {
    why = "unregistered type";
  } else if (size > types->max_message_size) {
    why = fmt::format("{} bytes exceed max-message-size {}", size,
                      types->max_message_size);
  } else {
    auto m = entry->make();
    if (wire::detail::parse_payload(*m, data, size)) {
      wire::detail::count_decoded();
      return wire::detail::proto_value::wrap(entry, std::move(m));
    }
    why = fmt::format("malformed Protobuf payload ({} bytes)", size);
  }
  wire::detail::count_rejected();
  return caf::make_message(
      wire::rejected_message{std::string{name}, std::move(why)});
}

void put_u8(std::vector<char>& out, uint8_t x) {
  out.push_back(static_cast<char>(x));
}

void put_u64(std::vector<char>& out, uint64_t x) {
  char b[8];
  for (int i = 0; i < 8; ++i)
    b[i] = static_cast<char>(x >> (56 - 8 * i));
  out.insert(out.end(), b, b + 8);
}

/// Appends how a message frame names `x`'s sender; false if CAF cannot
/// encode its node.
bool encode_sender(caf::actor_system& sys, caf::mailbox_element& x,
                   const caf::node_id& peer, std::vector<char>& out) {
  if (!x.sender) {
    put_u8(out, sender_none);
    return true;
  }
  auto aid = x.sender->id();
  const auto& nid = x.sender->node();
  if (nid == sys.node()) {
    put_u8(out, sender_of_writer);
    put_u64(out, aid);
  } else if (nid == peer) {
    put_u8(out, sender_of_reader);
    put_u64(out, aid);
  } else {
    put_u8(out, sender_full);
    put_u64(out, aid);
    caf::binary_serializer sink{sys, out};
    if (sink(const_cast<caf::node_id&>(nid)))
      return false;
  }
  return true;
}

/// Appends one registered Protobuf message (the usual case) as its bytes,
/// straight; false (appending nothing) if `xs` is not one, or too large.
bool encode_proto(const wire::type_registry* types, caf::type_erased_tuple& xs,
                  std::vector<char>& out) {
  if (types == nullptr || xs.size() != 1)
    return false;
  auto t = xs.type(0);
  auto entry = t.first == 0 && t.second != nullptr ? types->find(*t.second)
                                                   : nullptr;
  if (entry == nullptr)
    return false;
  auto msg = entry->upcast(xs.get(0));
  auto size = msg->ByteSizeLong();
  const auto& name = entry->full_name;
  if (size > types->max_message_size || name.size() >= 256)
    return false;
  put_u8(out, payload_proto);
  put_u8(out, static_cast<uint8_t>(name.size()));
  out.insert(out.end(), name.begin(), name.end());
  auto pos = out.size();
  out.resize(pos + size);
  msg->SerializeWithCachedSizesToArray(
    reinterpret_cast<uint8_t*>(out.data() + pos));
  wire::detail::count_encoded();
  return true;
}

bool parse_hello_impl(caf::execution_unit* ctx, const char* data, size_t size,
                      hello& out) {
  caf::binary_deserializer src{ctx, data, size};
  uint8_t kind = 0;
  if (src(kind) || kind != kind_hello || src.remaining() < 4)
    return false;
  char magic[4] = {};
  if (src.apply_raw(4, magic) || std::memcmp(magic, hello_magic, 4) != 0)
    return false;
  if (src(out.node) || !out.node)
    return false;
  // Older dialers send no back address: the link then waits for the
  // daemon to open it.
  if (src(out.back_port, out.back_host)) {
    out.back_port = 0;
    out.back_host.clear();
  }
  return true;
}

std::string parse_message_impl(caf::execution_unit* ctx,
                               const wire::type_registry* types,
                               const char* data, size_t size, message& out) {
  cursor in{data, data + size};
  auto kind = in.u8();
  out.dest = static_cast<caf::actor_id>(in.u64());
  out.mid = caf::message_id{in.u64()};
  out.sender_kind = in.u8();
  if (!in.ok || kind != kind_message)
    return "malformed frame header";
  if (out.sender_kind != sender_none) {
    out.sender = static_cast<caf::actor_id>(in.u64());
    if (!in.ok)
      return "malformed sender";
    if (out.sender_kind == sender_full) {
      caf::binary_deserializer src{ctx, in.pos, in.left()};
      // A sender on no node would only fill CAF's proxy registry.
      if (src(out.sender_node) || !out.sender_node)
        return "malformed sender node";
      in.pos = in.end - src.remaining();
    } else if (out.sender_kind != sender_of_writer &&
               out.sender_kind != sender_of_reader) {
      return "unknown sender kind";
    }
  }
  auto pk = in.u8();
  if (pk == payload_proto) {
    auto name_len = in.u8();
    if (!in.ok || in.left() < name_len)
      return "malformed Protobuf payload";
    std::string_view name{in.pos, name_len};
    in.pos += name_len;
    out.content = decode_proto(types, name, in.pos, in.left());
    return {};
  }
  if (pk == payload_caf) {
    caf::binary_deserializer src{ctx, in.pos, in.left()};
    if (auto err = inspect(src, out.content))
      return fmt::format("undecodable message: {}", describe(err));
    return {};
  }
  return "unknown payload kind";
}

} // namespace

void put_length(char* p, uint32_t x) {
  p[0] = static_cast<char>(x >> 24);
  p[1] = static_cast<char>(x >> 16);
  p[2] = static_cast<char>(x >> 8);
  p[3] = static_cast<char>(x);
}

uint32_t get_length(const char* p) {
  auto b = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16)
         | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

void encode_hello(caf::actor_system& sys, const hello& x,
                  std::vector<char>& out) {
  out.insert(out.end(), {static_cast<char>(kind_hello), hello_magic[0],
                         hello_magic[1], hello_magic[2], hello_magic[3]});
  caf::binary_serializer sink{sys, out};
  auto node = x.node;
  auto back_port = x.back_port;
  auto back_host = x.back_host;
  sink(node, back_port, back_host);
}

bool encode_message(caf::actor_system& sys, const wire::type_registry* types,
                    uint64_t dest, caf::mailbox_element& x,
                    const caf::node_id& peer, std::vector<char>& out) {
  auto start = out.size();
  out.resize(start + 4);
  put_u8(out, kind_message);
  put_u64(out, dest);
  put_u64(out, x.mid.integer_value());
  if (!encode_sender(sys, x, peer, out)) {
    out.resize(start);
    return false;
  }
  // Anything but one registered Protobuf message (atoms, CAF types, several
  // elements, an oversized Protobuf that save_proto refuses by name): CAF's
  // own encoding.
  auto& xs = x.content();
  if (!encode_proto(types, xs, out)) {
    put_u8(out, payload_caf);
    caf::binary_serializer sink{sys, out};
    if (caf::message::save(sink, xs)) {
      out.resize(start);
      return false;
    }
  }
  put_length(out.data() + start, static_cast<uint32_t>(out.size() - start - 4));
  return true;
}

// CAF 0.17.6 throws from some of its decoders (a variant with an unknown
// type tag, e.g. in a config_value or a node id): on a reader thread that
// would end the process, so a throwing frame is a malformed one.

bool parse_hello(caf::execution_unit* ctx, const char* data, size_t size,
                 hello& out) {
  try {
    return parse_hello_impl(ctx, data, size, out);
  } catch (const std::exception&) {
    return false;
  }
}

std::string parse_message(caf::execution_unit* ctx,
                          const wire::type_registry* types, const char* data,
                          size_t size, message& out) {
  try {
    return parse_message_impl(ctx, types, data, size, out);
  } catch (const std::exception& e) {
    return fmt::format("undecodable message: {}", e.what());
  }
}

} // namespace troupe::cluster::link_frame
