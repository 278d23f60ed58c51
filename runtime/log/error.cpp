// SPDX-License-Identifier: Apache-2.0
#include "troupe/error.hpp"

#include <caf/message.hpp>
#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>

namespace troupe {

const char* to_string(errc x) noexcept {
  switch (x) {
    case errc::handler_failed:
      return "handler_failed";
    case errc::rejected_message:
      return "rejected_message";
    case errc::name_not_found:
      return "name_not_found";
    case errc::bad_config:
      return "bad_config";
    case errc::not_running:
      return "not_running";
    case errc::connect_failed:
      return "connect_failed";
    case errc::restart_requested:
      return "restart_requested";
    case errc::escalated:
      return "escalated";
    case errc::node_down:
      return "node_down";
    case errc::name_taken:
      return "name_taken";
    case errc::name_conflict:
      return "name_conflict";
    case errc::fenced:
      return "fenced";
    case errc::spawn_failed:
      return "spawn_failed";
    case errc::mailbox_full:
      return "mailbox_full";
    case errc::node_left:
      return "node_left";
    case errc::child_running:
      return "child_running";
    case errc::persistence_failed:
      return "persistence_failed";
    case errc::writer_fenced:
      return "writer_fenced";
    case errc::revision_conflict:
      return "revision_conflict";
    case errc::transaction_conflict:
      return "transaction_conflict";
  }
  return "unknown";
}

caf::error make_error(errc x) {
  return caf::error{static_cast<uint8_t>(x), error_category};
}

caf::error make_error(errc x, std::string text) {
  return caf::error{static_cast<uint8_t>(x), error_category,
                    caf::make_message(std::move(text))};
}

std::string describe(const caf::error& x) {
  if (!x)
    return "no error";
  std::string text;
  if (x.category() == error_category)
    text = to_string(static_cast<errc>(x.code()));
  else if (x.category() == caf::atom("system"))
    text = caf::to_string(static_cast<caf::sec>(x.code()));
  else if (x.category() == caf::atom("exit"))
    text = caf::to_string(static_cast<caf::exit_reason>(x.code()));
  else
    return caf::to_string(x);
  auto& ctx = x.context();
  for (size_t i = 0; i < ctx.size(); ++i) {
    text += i == 0 ? ": " : ", ";
    if (ctx.match_element<std::string>(i))
      text += ctx.get_as<std::string>(i);
    else
      text += ctx.cvals()->stringify(i);
  }
  return text;
}

} // namespace troupe
