#include "wire/config_base.hpp"

#include <typeindex>

#include "wire/proto_value.hpp"

namespace troupe::wire::detail {

void config_base::install_types() {
  add_message_type<rejected_message>("troupe.rejected");
  value_factories_by_name[proto_caf_name] = &proto_value::make;
  types.for_each([this](const type_entry& e) {
    type_names_by_rtti[std::type_index(*e.type)] = proto_caf_name;
  });
}

} // namespace troupe::wire::detail
