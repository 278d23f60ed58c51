// SPDX-License-Identifier: Apache-2.0
#include "troupe/tool/error.hpp"

#include "troupe/error.hpp"

#include <caf/make_message.hpp>
#include <caf/sec.hpp>

namespace troupe::tool {

caf::error make_error(tool_errc x, std::string text) {
  return caf::error{static_cast<uint8_t>(x), tool_error_category,
                    caf::make_message(std::move(text))};
}

int exit_code(const caf::error& x) {
  if (!x)
    return 0;
  if (x.category() == tool_error_category)
    return x.code();
  if (x.category() == troupe::error_category)
    switch (static_cast<troupe::errc>(x.code())) {
    case troupe::errc::bad_config:
      return static_cast<int>(tool_errc::usage);
    case troupe::errc::connect_failed:
    case troupe::errc::node_down:
      return static_cast<int>(tool_errc::unreachable);
    default:
      return static_cast<int>(tool_errc::failed);
    }
  if (x.category() == caf::atom("system"))
    switch (static_cast<caf::sec>(x.code())) {
    case caf::sec::request_timeout:
    case caf::sec::request_receiver_down:
    case caf::sec::cannot_connect_to_node:
    case caf::sec::no_route_to_receiving_node:
    case caf::sec::disconnect_during_handshake:
    case caf::sec::connection_timeout:
      return static_cast<int>(tool_errc::unreachable);
    default:
      break;
    }
  return static_cast<int>(tool_errc::failed);
}

std::string describe(const caf::error& x) {
  if (x && x.category() == tool_error_category) {
    auto& ctx = x.context();
    if (ctx.size() == 1 && ctx.match_element<std::string>(0))
      return ctx.get_as<std::string>(0);
  }
  return troupe::describe(x);
}

} // namespace troupe::tool
