// SPDX-License-Identifier: Apache-2.0
#include "troupe/endpoint.hpp"

#include <cstdlib>

#include <fmt/format.h>

#include "troupe/error.hpp"

namespace troupe {

caf::expected<std::pair<std::string, uint16_t>>
parse_endpoint(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return make_error(errc::bad_config,
                      fmt::format("'{}' is not of the form host:port", text));
  auto host = text.substr(0, colon);
  auto port_text = text.substr(colon + 1);
  char* end = nullptr;
  auto value = std::strtoul(port_text.c_str(), &end, 10);
  if (*end != '\0' || port_text[0] == '-' || value == 0 || value > 65535)
    return make_error(errc::bad_config,
                      fmt::format("'{}' has no valid port (1-65535)", text));
  return std::make_pair(std::move(host), static_cast<uint16_t>(value));
}

} // namespace troupe
