// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <type_traits>

#include <caf/fwd.hpp>
#include <google/protobuf/message.h>

#include "troupe/wire/type_registry.hpp"

/// Protobuf ⇄ CAF bridge.
///
/// CAF 0.17 finds how to serialize a type through an `inspect` overload that
/// argument-dependent lookup reaches. Generated Protobuf classes derive from
/// `google::protobuf::Message`, so the overload below, declared in that
/// namespace, makes every generated type usable in CAF messages. Include this
/// header wherever Protobuf messages are sent or matched.
///
/// Within one process CAF moves the message object through the mailbox and
/// never calls these functions. They run only when a message leaves the node
/// (or is printed), and encode it as: the Protobuf full name, a status byte
/// and the Protobuf bytes.

namespace troupe::wire::detail {

caf::error save_proto(caf::serializer& sink,
                      const google::protobuf::Message& x);

caf::error load_proto(caf::deserializer& source, google::protobuf::Message& x);

std::string print_proto(const google::protobuf::Message& x);

} // namespace troupe::wire::detail

namespace google::protobuf {

template <class Inspector, class T>
std::enable_if_t<std::is_base_of_v<Message, T>, typename Inspector::result_type>
inspect(Inspector& f, T& x) {
  namespace d = troupe::wire::detail;
  if constexpr (std::is_same_v<typename Inspector::result_type, caf::error>) {
    if constexpr (Inspector::reads_state)
      return d::save_proto(f, x);
    else
      return d::load_proto(f, x);
  } else {
    // Printing (deep_to_string and friends).
    return f(d::print_proto(x));
  }
}

} // namespace google::protobuf
