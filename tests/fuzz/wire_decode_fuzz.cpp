// SPDX-License-Identifier: Apache-2.0
// Fuzzes how a node decodes a message from another node on CAF's path
// (BASP): CAF reads the element type names, and each `troupe.proto`
// element is decoded by wire/proto_value.cpp against the node's registry
// (registered type, max-message-size, malformed bytes, refused by the
// sender). Input: the content of a BASP message (stages, then message).
#include <caf/binary_serializer.hpp>

#include "fuzz_system.hpp"
#include "troupe/wire/rejected_message.hpp"

using namespace troupe;

namespace {

/// The Protobuf message at `msg[i]`, if it is of a registered type.
const google::protobuf::Message* proto_at(const caf::message& msg, size_t i) {
  auto t = msg.type(i);
  if (t.first != 0 || t.second == nullptr)
    return nullptr; // one of CAF's builtin types
  auto entry = fuzz::fuzz_system::get().types().find(*t.second);
  return entry != nullptr ? entry->upcast(msg.get(i)) : nullptr;
}

/// Whether `msg` may hold an infinite float or double, at any depth (in a
/// nested message, an error's context, a system message): its text shows
/// "inf" (a string that says so only skips a check). CAF 0.17.6's
/// binary_serializer never returns on one (detail::pack754 halves infinity
/// forever), so such a message is decoded here but not encoded again: see
/// README.md.
bool may_hold_infinity(const caf::message& msg) {
  return caf::to_string(msg).find("inf") != std::string::npos;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& fx = fuzz::fuzz_system::get();
  caf::message msg;
  if (fuzz::decode_basp_content(fx.unit(), data, size, msg)
      || may_hold_infinity(msg))
    return 0;
  // What a node decoded, it can send on: encoding it again succeeds and
  // decodes to the same types, except that a message whose canonical
  // encoding is over max-message-size (it can be larger than what came in)
  // is refused by the sender and arrives as a rejected_message.
  std::vector<char> buf;
  caf::binary_serializer sink{fx.unit(), buf};
  std::vector<caf::strong_actor_ptr> stages;
  if (sink(stages, msg))
    fuzz::fail("a decoded message cannot be encoded again");
  caf::message again;
  if (fuzz::decode_basp_content(fx.unit(),
                                reinterpret_cast<const uint8_t*>(buf.data()),
                                buf.size(), again))
    fuzz::fail("a re-encoded message does not decode");
  if (again.size() != msg.size())
    fuzz::fail("a re-encoded message has another size");
  for (size_t i = 0; i < msg.size(); ++i) {
    if (again.type(i) == msg.type(i))
      continue;
    auto x = proto_at(msg, i);
    if (x == nullptr || x->ByteSizeLong() <= fuzz::max_message_size ||
        !again.match_element<wire::rejected_message>(i))
      fuzz::fail("a re-encoded message has another type");
  }
  return 0;
}
