// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include <caf/message.hpp>
#include <caf/type_erased_value.hpp>

#include "troupe/wire/rejected_message.hpp"
#include "troupe/wire/type_registry.hpp"

namespace troupe::wire::detail {

/// The value CAF creates for an incoming `troupe.proto` element.
///
/// CAF picks a factory by the name on the wire before it reads the payload,
/// so this value decides what it is while loading: the registered Protobuf
/// class named in the payload, or a `rejected_message` saying why not. It
/// then reports that C++ type to CAF's pattern matching, so handlers take
/// `const my::Ping&` as they would for a local message.
class proto_value final : public caf::type_erased_value {
public:
  proto_value() = default;

  void* get_mutable() override;
  caf::error load(caf::deserializer& source) override;
  caf::rtti_pair type() const override;
  const void* get() const override;
  caf::error save(caf::serializer& sink) const override;
  std::string stringify() const override;
  caf::type_erased_value_ptr copy() const override;

  /// CAF value factory for `troupe.proto`.
  static caf::type_erased_value_ptr make();

  /// A message holding `msg` (of the type `entry` describes), as if CAF
  /// had decoded it: what a direct link delivers.
  static caf::message wrap(const type_entry* entry,
                           std::unique_ptr<google::protobuf::Message> msg);

private:
  void reject(std::string type_name, std::string reason);

  const type_entry* entry_ = nullptr;
  std::unique_ptr<google::protobuf::Message> msg_;
  rejected_message rejected_;
};

} // namespace troupe::wire::detail
