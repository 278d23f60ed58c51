// SPDX-License-Identifier: Apache-2.0
#include "wire/codec.hpp"

#include <atomic>
#include <limits>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/deserializer.hpp>
#include <caf/sec.hpp>
#include <caf/serializer.hpp>
#include <fmt/format.h>

#include "troupe/log.hpp"
#include "troupe/wire/proto.hpp"
#include "troupe/wire/stats.hpp"
#include "wire/config_base.hpp"

namespace troupe::wire {

namespace {

std::atomic<uint64_t> encoded_count;
std::atomic<uint64_t> decoded_count;
std::atomic<uint64_t> rejected_count;

} // namespace

stats read_stats() noexcept {
  return {encoded_count.load(std::memory_order_relaxed),
          decoded_count.load(std::memory_order_relaxed),
          rejected_count.load(std::memory_order_relaxed)};
}

namespace detail {

void count_encoded() noexcept {
  encoded_count.fetch_add(1, std::memory_order_relaxed);
}

void count_decoded() noexcept {
  decoded_count.fetch_add(1, std::memory_order_relaxed);
}

void count_rejected() noexcept {
  rejected_count.fetch_add(1, std::memory_order_relaxed);
}

caf::error read_header(caf::deserializer& source, frame_header& hdr) {
  uint8_t status = 0;
  if (auto err = source(hdr.type_name, status))
    return err;
  switch (static_cast<frame_status>(status)) {
    case frame_status::payload:
      hdr.status = frame_status::payload;
      return source.begin_sequence(hdr.size);
    case frame_status::refused_too_large: {
      uint64_t size = 0;
      if (auto err = source(size))
        return err;
      hdr.status = frame_status::refused_too_large;
      hdr.size = static_cast<size_t>(size);
      return caf::none;
    }
  }
  return caf::make_error(caf::sec::invalid_argument,
                         "unknown troupe.proto frame status");
}

caf::error read_payload(caf::deserializer& source, size_t size,
                        payload_view& out) {
  out.size = size;
  if (auto bd = dynamic_cast<caf::binary_deserializer*>(&source)) {
    // Fast path: parse straight from the network buffer.
    if (bd->remaining() < size)
      return caf::sec::end_of_stream;
    out.data = reinterpret_cast<const char*>(bd->remainder().data());
    bd->skip(size);
  } else {
    out.storage.resize(size);
    if (auto err = source.apply_raw(size, out.storage.data()))
      return err;
    out.data = out.storage.data();
  }
  return source.end_sequence();
}

bool parse_payload(google::protobuf::Message& x, const char* data,
                   size_t size) {
  if (size > static_cast<size_t>(std::numeric_limits<int>::max()))
    return false;
  return x.ParseFromArray(data, static_cast<int>(size));
}

const type_registry* registry_of(caf::execution_unit* ctx) noexcept {
  if (ctx == nullptr)
    return nullptr;
  auto cfg = dynamic_cast<const config_base*>(&ctx->system().config());
  return cfg != nullptr ? &cfg->types : nullptr;
}

caf::error save_proto(caf::serializer& sink,
                      const google::protobuf::Message& x) {
  const auto& name = x.GetDescriptor()->full_name();
  auto size = x.ByteSizeLong();
  auto reg = registry_of(sink.context());
  auto limit = reg != nullptr ? reg->max_message_size
                              : std::numeric_limits<size_t>::max();
  if (size > limit) {
    count_rejected();
    log(log_level::error,
        fmt::format("refused to send a message of type '{}': {} bytes exceed "
                    "max-message-size {}",
                    name, size, limit));
    auto status = static_cast<uint8_t>(frame_status::refused_too_large);
    auto size64 = static_cast<uint64_t>(size);
    return sink(const_cast<std::string&>(name), status, size64);
  }
  auto status = static_cast<uint8_t>(frame_status::payload);
  if (auto err = sink(const_cast<std::string&>(name), status))
    return err;
  if (auto err = sink.begin_sequence(size))
    return err;
  if (auto bs = dynamic_cast<caf::binary_serializer*>(&sink)) {
    // Fast path: encode straight into the outgoing buffer.
    auto pos = bs->write_pos();
    bs->skip(size);
    x.SerializeWithCachedSizesToArray(
      reinterpret_cast<uint8_t*>(bs->buf().data() + pos));
  } else {
    std::string tmp;
    x.SerializeToString(&tmp);
    if (auto err = sink.apply_raw(tmp.size(), tmp.data()))
      return err;
  }
  count_encoded();
  return sink.end_sequence();
}

caf::error load_proto(caf::deserializer& source,
                      google::protobuf::Message& x) {
  frame_header hdr;
  if (auto err = read_header(source, hdr))
    return err;
  const auto& expected = x.GetDescriptor()->full_name();
  if (hdr.status != frame_status::payload || hdr.type_name != expected)
    return caf::make_error(caf::sec::unexpected_message, expected, hdr.type_name);
  payload_view bytes;
  if (auto err = read_payload(source, hdr.size, bytes))
    return err;
  if (!parse_payload(x, bytes.data, bytes.size))
    return caf::make_error(caf::sec::invalid_argument,
                           "malformed Protobuf payload", expected);
  count_decoded();
  return caf::none;
}

std::string print_proto(const google::protobuf::Message& x) {
  return x.GetTypeName() + "{" + x.ShortDebugString() + "}";
}

} // namespace detail

} // namespace troupe::wire
