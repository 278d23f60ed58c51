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

const char* to_string(dead_letter x) noexcept {
  switch (x) {
    case dead_letter::node_down:
      return "node_down";
    case dead_letter::name_not_found:
      return "name_not_found";
    case dead_letter::actor_gone:
      return "actor_gone";
    case dead_letter::mailbox_full:
      return "mailbox_full";
  }
  return "unknown";
}

uint64_t letter_counts::dead_total() const noexcept {
  uint64_t n = 0;
  for (auto& x : dead)
    n += x.load(std::memory_order_relaxed);
  return n;
}

letter_counts* letters_of(const caf::actor_system& sys) noexcept {
  auto cfg = dynamic_cast<const config_base*>(&sys.config());
  return cfg != nullptr ? &cfg->letters : nullptr;
}

uint64_t count_dead_letter(const caf::actor_system& sys, dead_letter why,
                           uint64_t n) noexcept {
  auto counts = letters_of(sys);
  if (counts == nullptr)
    return 0;
  auto& x = counts->dead[static_cast<size_t>(why)];
  return x.fetch_add(n, std::memory_order_relaxed) + n;
}

} // namespace troupe::wire::detail
