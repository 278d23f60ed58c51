// SPDX-License-Identifier: Apache-2.0
// Base64 (RFC 4648, with padding), as etcd's JSON gateway carries keys and
// values.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace troupe::cluster::etcd {

/// Encodes `bytes` in the standard alphabet, padded.
std::string base64_encode(std::string_view bytes);

/// Decodes padded standard base64; `std::nullopt` for anything else
/// (a foreign character, a bad length, bits after the padding).
std::optional<std::string> base64_decode(std::string_view text);

} // namespace troupe::cluster::etcd
