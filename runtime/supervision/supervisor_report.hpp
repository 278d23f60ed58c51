// SPDX-License-Identifier: Apache-2.0
// How a supervisor words what happened to a child and what it decided: the
// crash report line (written only when crash_report.hpp's budget allows
// one) and the texts in it.
#pragma once

#include <string>

#include <caf/actor_cast.hpp>
#include <caf/local_actor.hpp>
#include <fmt/format.h>

#include "supervision/crash_report.hpp"
#include "supervision/supervisor_state.hpp"
#include "troupe/log.hpp"

namespace troupe::supervision {

/// A throw as failure_text(make_error(errc::handler_failed, ...)) writes it:
/// "handler_failed: <what> on <message type>" (plain appends, as the
/// child's own text).
inline void write_thrown_text(std::string& out, const std::string& what,
                       const std::string& type) {
  out.clear();
  out.reserve(16 + what.size() + 4 + type.size());
  out.append("handler_failed: ").append(what).append(" on ").append(type);
}

inline std::string thrown_text(const std::string& what, const std::string& type) {
  std::string out;
  write_thrown_text(out, what, type);
  return out;
}

inline std::string limit_text(supervisor_actor* self) {
  auto& f = self->state.flags;
  return fmt::format("{} of at most {} within {} ms",
                     self->state.intensity.recent(), f.max_restarts,
                     f.period.count());
}

/// One crash report: what happened to the child (`what()`) and what was
/// decided (`decision()`), built only when the budget allows a line.
template <class What, class Decision>
void report(supervisor_actor* self, const child_entry& child,
            caf::actor_id id, What what, Decision decision,
            log_level lvl = log_level::error) {
  uint64_t dropped = 0;
  if (!take_crash_report(dropped))
    return;
  // The actor's type, when it is still there to ask (in this process).
  std::string type;
  if (child.hdl)
    if (auto ptr = dynamic_cast<caf::local_actor*>(
          caf::actor_cast<caf::abstract_actor*>(child.hdl)))
      type = std::string{ptr->name()} + ", ";
  write_crash_report(lvl,
                     fmt::format("crash report: {} ({}actor {}) {}; "
                                 "supervisor {}: {}",
                                 child_path(self, child), type, id, what(),
                                 self->state.path, decision()),
                     dropped);
}

} // namespace troupe::supervision
