// SPDX-License-Identifier: Apache-2.0
// Fuzzes what the transport guard (runtime/transport/guard.cpp) reads from a
// peer before CAF sees a byte: BASP's framing, followed across arbitrary
// chunk boundaries, and troupe's secret challenge (a hello, then a proof).
// Input: a chunk size byte, then the stream.
#include <cstring>
#include <string>

#include "fuzz_system.hpp"
#include "transport/guard.hpp"

using namespace troupe;
using troupe::transport::basp_framer;
using troupe::transport::secret_handshake;

namespace {

// The framer's verdict on the whole stream at once, from first principles.
bool expected_ok(const unsigned char* p, size_t n, size_t max) {
  size_t at = 0;
  while (at + basp_framer::header_size <= n) {
    uint32_t len = (uint32_t{p[at + 4]} << 24) | (uint32_t{p[at + 5]} << 16)
                   | (uint32_t{p[at + 6]} << 8) | uint32_t{p[at + 7]};
    if (len > max)
      return false;
    at += basp_framer::header_size + len;
  }
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  size_t chunk = data[0] % 64 + 1;
  auto bytes = data + 1;
  size -= 1;
  constexpr size_t max = 4096;
  // Chunking must not change the verdict.
  basp_framer whole{max};
  basp_framer pieces{max};
  bool ok_whole = whole.feed(reinterpret_cast<const char*>(bytes), size);
  bool ok_pieces = true;
  for (size_t at = 0; at < size && ok_pieces; at += chunk)
    ok_pieces = pieces.feed(reinterpret_cast<const char*>(bytes) + at,
                            std::min(chunk, size - at));
  if (ok_whole != ok_pieces)
    fuzz::fail("the framer's verdict depends on how the bytes arrive");
  if (ok_whole != expected_ok(bytes, size, max))
    fuzz::fail("the framer let an oversized frame through, or refused a "
               "good one");
  // The secret challenge: a peer's hello and proof, as they come.
  secret_handshake acceptor{"the secret", true};
  size_t at = 0;
  while (acceptor.wanted() > 0 && at + acceptor.wanted() <= size) {
    auto want = acceptor.wanted();
    auto out = acceptor.take(reinterpret_cast<const char*>(bytes) + at, want);
    at += want;
    using o = secret_handshake::outcome;
    if (out == o::not_troupe || out == o::wrong_secret)
      break;
    if (out == o::done)
      fuzz::fail("a random proof passed the secret challenge");
    if (out == o::send_proof && acceptor.proof().size() != 32)
      fuzz::fail("a proof that is not 32 bytes");
  }
  return 0;
}
