// SPDX-License-Identifier: Apache-2.0
// A supervisor's OTP API: the handlers behind troupe::supervisor_handle.
#include <fmt/format.h>

#include "supervision/supervisor_state.hpp"
#include "troupe/error.hpp"

namespace troupe::supervision {

namespace {

caf::error unknown(const std::string& id) {
  return make_error(errc::name_not_found, fmt::format("no child '{}'", id));
}

caf::error running(const std::string& id) {
  return make_error(errc::child_running,
                    fmt::format("child '{}' is running", id));
}

} // namespace

caf::message_handler api_handlers(supervisor_actor* self) {
  return {
    [self](start_child_atom, child_spec& spec) -> caf::result<child_status> {
      auto& st = self->state;
      if (st.stopping)
        return make_error(errc::not_running, "supervisor is stopping");
      if (auto err = check_child_specs({spec}, st.flags.auto_shutdown))
        return err;
      if (find(self, spec.id) != nullptr)
        return make_error(errc::bad_config,
                          fmt::format("child id '{}' is taken", spec.id));
      st.children.emplace_back();
      auto& child = st.children.back();
      child.spec = std::move(spec);
      if (!start_child(self, child)) {
        auto id = child.spec.id;
        auto why = child.start_error;
        st.children.pop_back();
        return make_error(errc::spawn_failed,
                          fmt::format("child '{}' did not start: {}", id, why));
      }
      return status_of(self, child);
    },
    [self](restart_child_atom,
           const std::string& id) -> caf::result<caf::actor> {
      if (self->state.stopping)
        return make_error(errc::not_running, "supervisor is stopping");
      auto c = find(self, id);
      if (c == nullptr)
        return unknown(id);
      if (c->hdl || c->respawn_pending || c->terminating)
        return running(id);
      if (!start_child(self, *c))
        return make_error(errc::spawn_failed,
                          fmt::format("child '{}' did not start: {}", id,
                                      c->start_error));
      return c->hdl;
    },
    [self](terminate_child_atom, const std::string& id) -> caf::result<void> {
      auto c = find(self, id);
      if (c == nullptr)
        return unknown(id);
      if (c->hdl) {
        auto rp = self->make_response_promise();
        c->terminated.push_back(rp);
        if (!c->terminating) {
          c->terminating = true;
          stop_child(self, *c);
        }
        return caf::delegated<void>{};
      }
      // Down already (ended, or waiting for a backoff respawn).
      c->respawn_pending = false;
      if (c->spec.restart == restart_type::temporary)
        forget_child(self, *c, caf::exit_reason::user_shutdown);
      else
        mark_gone(self, *c, caf::exit_reason::user_shutdown);
      return caf::unit;
    },
    [self](delete_child_atom, const std::string& id) -> caf::result<void> {
      auto c = find(self, id);
      if (c == nullptr)
        return unknown(id);
      if (c->hdl || c->respawn_pending || c->terminating)
        return running(id);
      forget_child(self, *c, make_error(errc::name_not_found,
                                        fmt::format("child '{}' was deleted",
                                                    id)));
      return caf::unit;
    },
    [self](children_atom) {
      std::vector<child_status> result;
      for (auto& c : self->state.children)
        result.push_back(status_of(self, c));
      return result;
    },
    [self](count_children_atom) {
      child_counts n;
      for (auto& c : self->state.children) {
        ++n.specs;
        if (c.hdl)
          ++n.active;
        if (c.spec.kind == child_kind::supervisor)
          ++n.supervisors;
        else
          ++n.workers;
      }
      return n;
    },
    [self](get_childspec_atom, const std::string& id)
      -> caf::result<child_spec> {
      auto c = find(self, id);
      if (c == nullptr)
        return unknown(id);
      return c->spec;
    },
  };
}

} // namespace troupe::supervision
