// SPDX-License-Identifier: Apache-2.0
// The blocking half of troupe::supervisor_handle, for code outside actors.
#include "troupe/supervision/supervisor_handle.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "supervision/decision.hpp"
#include "troupe/error.hpp"

namespace troupe {

namespace {

template <class T, class... Ts>
caf::expected<T> blocking_ask(const caf::actor& sup, caf::timespan timeout,
                              Ts&&... xs) {
  if (!sup)
    return make_error(errc::not_running, "no supervisor");
  auto& sys = caf::actor_cast<caf::abstract_actor*>(sup)->home_system();
  caf::scoped_actor self{sys, true};
  caf::expected<T> result = caf::make_error(caf::sec::request_timeout);
  self->request(sup, timeout, std::forward<Ts>(xs)...)
    .receive([&](T& x) { result = std::move(x); },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

template <class... Ts>
caf::error blocking_ask_void(const caf::actor& sup, caf::timespan timeout,
                             Ts&&... xs) {
  if (!sup)
    return make_error(errc::not_running, "no supervisor");
  auto& sys = caf::actor_cast<caf::abstract_actor*>(sup)->home_system();
  caf::scoped_actor self{sys, true};
  caf::error result;
  self->request(sup, timeout, std::forward<Ts>(xs)...)
    .receive([] {}, [&](caf::error& err) { result = std::move(err); });
  return result;
}

} // namespace

caf::expected<child_status> supervisor_handle::start_child(child_spec spec) const {
  return blocking_ask<child_status>(sup_, timeout_, start_child_atom::value,
                                    std::move(spec));
}

caf::expected<caf::actor>
supervisor_handle::restart_child(const std::string& id) const {
  return blocking_ask<caf::actor>(sup_, timeout_, restart_child_atom::value,
                                  id);
}

caf::error supervisor_handle::terminate_child(const std::string& id) const {
  return blocking_ask_void(sup_, timeout_, terminate_child_atom::value, id);
}

caf::error supervisor_handle::delete_child(const std::string& id) const {
  return blocking_ask_void(sup_, timeout_, delete_child_atom::value, id);
}

caf::expected<std::vector<child_status>>
supervisor_handle::which_children() const {
  return blocking_ask<std::vector<child_status>>(sup_, timeout_,
                                                 children_atom::value);
}

caf::expected<child_counts> supervisor_handle::count_children() const {
  return blocking_ask<child_counts>(sup_, timeout_,
                                    count_children_atom::value);
}

caf::expected<child_spec>
supervisor_handle::get_childspec(const std::string& id) const {
  return blocking_ask<child_spec>(sup_, timeout_, get_childspec_atom::value,
                                  id);
}

caf::error
supervisor_handle::check_childspecs(const std::vector<child_spec>& specs,
                                    auto_shutdown mode) {
  return supervision::check_child_specs(specs, mode);
}

} // namespace troupe
