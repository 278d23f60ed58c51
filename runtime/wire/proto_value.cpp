// SPDX-License-Identifier: Apache-2.0
#include "wire/proto_value.hpp"

#include <caf/deep_to_string.hpp>
#include <caf/detail/dynamic_message_data.hpp>
#include <caf/deserializer.hpp>
#include <caf/serializer.hpp>
#include <fmt/format.h>

#include "troupe/wire/proto.hpp"
#include "wire/codec.hpp"
#include "wire/config_base.hpp"

namespace troupe::wire::detail {

caf::type_erased_value_ptr proto_value::make() {
  return caf::type_erased_value_ptr{new proto_value};
}

caf::message proto_value::wrap(const type_entry* entry,
                               std::unique_ptr<google::protobuf::Message> msg) {
  auto v = std::make_unique<proto_value>();
  v->entry_ = entry;
  v->msg_ = std::move(msg);
  caf::intrusive_cow_ptr<caf::detail::dynamic_message_data> data{
    new caf::detail::dynamic_message_data, false};
  data.unshared().append(caf::type_erased_value_ptr{v.release()});
  return caf::message{std::move(data)};
}

void* proto_value::get_mutable() {
  return entry_ != nullptr ? entry_->downcast(msg_.get())
                           : static_cast<void*>(&rejected_);
}

const void* proto_value::get() const {
  return const_cast<proto_value*>(this)->get_mutable();
}

caf::rtti_pair proto_value::type() const {
  return {0, entry_ != nullptr ? entry_->type : &typeid(rejected_message)};
}

void proto_value::reject(std::string type_name, std::string reason) {
  count_rejected();
  entry_ = nullptr;
  msg_.reset();
  rejected_.type_name = std::move(type_name);
  rejected_.reason = std::move(reason);
}

caf::error proto_value::load(caf::deserializer& source) {
  frame_header hdr;
  if (auto err = read_header(source, hdr))
    return err;
  if (hdr.status == frame_status::refused_too_large) {
    reject(std::move(hdr.type_name),
           fmt::format("the sender refused to encode {} bytes: over its "
                       "max-message-size",
                       hdr.size));
    return caf::none;
  }
  // Always consume the bytes, so that the rest of the frame stays readable.
  payload_view bytes;
  if (auto err = read_payload(source, hdr.size, bytes))
    return err;
  auto reg = registry_of(source.context());
  auto entry = reg != nullptr ? reg->find(hdr.type_name) : nullptr;
  if (entry == nullptr) {
    reject(std::move(hdr.type_name), "unregistered type");
    return caf::none;
  }
  if (bytes.size > reg->max_message_size) {
    reject(std::move(hdr.type_name),
           fmt::format("{} bytes exceed max-message-size {}", bytes.size,
                       reg->max_message_size));
    return caf::none;
  }
  auto msg = entry->make();
  if (!parse_payload(*msg, bytes.data, bytes.size)) {
    reject(std::move(hdr.type_name),
           fmt::format("malformed Protobuf payload ({} bytes)", bytes.size));
    return caf::none;
  }
  count_decoded();
  entry_ = entry;
  msg_ = std::move(msg);
  return caf::none;
}

caf::error proto_value::save(caf::serializer& sink) const {
  if (entry_ != nullptr)
    return save_proto(sink, *msg_);
  return inspect(sink, const_cast<rejected_message&>(rejected_));
}

std::string proto_value::stringify() const {
  if (entry_ != nullptr)
    return print_proto(*msg_);
  return caf::deep_to_string(rejected_);
}

caf::type_erased_value_ptr proto_value::copy() const {
  auto result = std::make_unique<proto_value>();
  result->entry_ = entry_;
  if (msg_ != nullptr) {
    result->msg_.reset(msg_->New());
    result->msg_->CopyFrom(*msg_);
  }
  result->rejected_ = rejected_;
  return result;
}

} // namespace troupe::wire::detail
