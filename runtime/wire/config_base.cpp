#include "wire/config_base.hpp"

#include <typeindex>

#include <caf/actor_system.hpp>

#include "wire/proto_value.hpp"

namespace troupe::wire::detail {

void config_base::install_types() {
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
