// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include <caf/meta/type_name.hpp>

namespace troupe::wire {

/// Stands in for a message from another node that could not be decoded.
///
/// The wire layer never drops a bad message silently: the receiving actor
/// gets a `rejected_message` instead. Actors written with troupe's API log
/// it (naming the type and the sending node) and answer a request with
/// `errc::rejected_message`; plain CAF actors see it as an unexpected
/// message. Its CAF type name is `troupe.rejected`.
struct rejected_message {
  /// Protobuf full name that the sender put on the wire.
  std::string type_name;
  /// Why the message was refused, in words.
  std::string reason;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rejected_message& x) {
  return f(caf::meta::type_name("troupe.rejected"), x.type_name, x.reason);
}

} // namespace troupe::wire
