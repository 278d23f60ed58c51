// SPDX-License-Identifier: Apache-2.0
// Fuzzes what a node reads from another process on its direct-link data
// port (runtime/cluster/link_frame.cpp): the handshake body ("TRP1", the
// dialer's node id, its back address) and message frame bodies (header,
// sender, then a Protobuf payload by name or CAF's encoding of the
// message). Input: one frame body, tried as both.
#include "cluster/link_frame.hpp"
#include "fuzz_system.hpp"
#include "troupe/wire/rejected_message.hpp"

using namespace troupe;
namespace lf = troupe::cluster::link_frame;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& fx = fuzz::fuzz_system::get();
  auto bytes = reinterpret_cast<const char*>(data);
  lf::hello hi;
  if (lf::parse_hello(fx.unit(), bytes, size, hi)) {
    if (!hi.node)
      fuzz::fail("a handshake was accepted without a node id");
    if (size < 5 || bytes[0] != lf::kind_hello)
      fuzz::fail("a handshake was accepted without its kind");
  }
  lf::message m;
  auto why = lf::parse_message(fx.unit(), &fx.types(), bytes, size, m);
  if (!why.empty())
    return 0;
  if (size < 18 || bytes[0] != lf::kind_message)
    fuzz::fail("a frame was accepted without a full header");
  if (m.sender_kind == lf::sender_full && !m.sender_node)
    fuzz::fail("a full sender was accepted without a node id");
  auto pk = m.sender_kind == lf::sender_none   ? bytes[18]
            : m.sender_kind == lf::sender_full ? '\0'
                                               : bytes[26];
  if (pk == lf::payload_proto) {
    // One element: the registered type, or why not.
    if (m.content.size() != 1)
      fuzz::fail("a Protobuf frame did not yield one element");
    auto t = m.content.type(0);
    auto entry = t.first == 0 && t.second != nullptr
                     ? fx.types().find(*t.second)
                     : nullptr;
    if (entry == nullptr && !m.content.match_element<wire::rejected_message>(0))
      fuzz::fail("a Protobuf frame yielded neither its type nor a refusal");
  }
  return 0;
}
