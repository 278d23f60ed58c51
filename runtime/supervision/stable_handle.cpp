// SPDX-License-Identifier: Apache-2.0
// The stable handle actor: forwards to a child's current incarnation.
#include "supervision/stable_handle.hpp"

#include <string>
#include <utility>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/local_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <fmt/format.h>

#include "troupe/error.hpp"
#include "troupe/log.hpp"
#include "actor/dead_letters.hpp"
#include "wire/config_base.hpp"

namespace troupe::supervision {

namespace {

struct stable_state {
  static inline const char* name = "troupe.stable_handle";
  static constexpr size_t max_held = 10000;
  caf::actor target;
  caf::error gone;
  std::vector<std::pair<caf::response_promise, caf::message>> held;
};

using stable_actor = caf::stateful_actor<stable_state>;

caf::result<caf::message>
refuse(stable_actor* self, caf::response_promise& rp, caf::error reason,
       troupe::detail::dead_letter why = troupe::detail::dead_letter::actor_gone) {
  if (!rp.async()) {
    rp.deliver(std::move(reason));
    return caf::delegated<caf::message>{};
  }
  auto n = troupe::detail::count_dead_letter(self->home_system(), why);
  if (n == 1 || n % 1000 == 0)
    log(log_level::warn,
        fmt::format("dead letter #{} ({}): a message to a child that is "
                    "gone or restarting ({})",
                    n, troupe::detail::to_string(why), describe(reason)));
  return caf::delegated<caf::message>{};
}

caf::behavior stable_handle(stable_actor* self) {
  self->set_default_handler([](caf::scheduled_actor* ptr,
                               caf::message_view& x)
                              -> caf::result<caf::message> {
    auto self = static_cast<stable_actor*>(ptr);
    auto& st = self->state;
    auto rp = self->make_response_promise();
    auto msg = x.move_content_to_message();
    if (st.target) {
      rp.delegate(st.target, std::move(msg));
      return caf::delegated<caf::message>{};
    }
    if (st.gone)
      return refuse(self, rp, st.gone);
    if (st.held.size() >= stable_state::max_held)
      return refuse(self, rp,
                    make_error(errc::mailbox_full,
                               fmt::format("more than {} messages held for "
                                           "the restarting child",
                                           stable_state::max_held)),
                    troupe::detail::dead_letter::mailbox_full);
    st.held.emplace_back(std::move(rp), std::move(msg));
    return caf::delegated<caf::message>{};
  });
  return {
    [self](target_atom, caf::actor& target) {
      auto& st = self->state;
      st.target = std::move(target);
      if (!st.target)
        return;
      st.gone = caf::error{}; // restart_child brought it back
      for (auto& [rp, msg] : st.held)
        rp.delegate(st.target, std::move(msg));
      st.held.clear();
    },
    [self](gone_atom, caf::error& reason) {
      auto& st = self->state;
      st.target = nullptr;
      st.gone = reason ? std::move(reason)
                       : make_error(errc::name_not_found, "child is gone");
      for (auto& held : st.held)
        refuse(self, held.first, st.gone);
      st.held.clear();
    },
  };
}

} // namespace

caf::actor spawn_stable_handle(caf::local_actor* owner) {
  return owner->spawn(stable_handle);
}

} // namespace troupe::supervision
