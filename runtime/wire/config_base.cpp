// SPDX-License-Identifier: Apache-2.0
#include "wire/config_base.hpp"

#include <mutex>
#include <typeindex>

#include <caf/actor_system.hpp>
#include <fmt/format.h>
#include <google/protobuf/stubs/logging.h>

#include "troupe/log.hpp"
#include "wire/proto_value.hpp"

namespace troupe::wire::detail {

namespace {

/// Protobuf's own log lines, into troupe's log. Its errors come from
/// parsing what other processes send (a string field that is not UTF-8):
/// the message is refused anyway, and on stderr a peer could print a line
/// per message it sends.
void protobuf_log(google::protobuf::LogLevel level, const char* file, int line,
                  const std::string& text) {
  auto lvl = level == google::protobuf::LOGLEVEL_FATAL ? log_level::error
                                                       : log_level::debug;
  log(lvl, fmt::format("protobuf ({}:{}): {}", file, line, text));
}

} // namespace

void config_base::install_types() {
  // Protobuf's handler is global and not thread-safe to set: set it once.
  static std::once_flag once;
  std::call_once(once, [] {
    google::protobuf::SetLogHandler(&protobuf_log);
  });
  add_message_type<rejected_message>("troupe.rejected");
  value_factories_by_name[proto_caf_name] = &proto_value::make;
  types.for_each([this](const type_entry& e) {
    type_names_by_rtti[std::type_index(*e.type)] = proto_caf_name;
  });
}

} // namespace troupe::wire::detail
