// SPDX-License-Identifier: Apache-2.0
// Member records: their keys in etcd and their JSON.
#include "cluster/etcd/member_record.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace troupe::cluster::etcd {

bool operator==(const member_record& x, const member_record& y) noexcept {
  return x.incarnation == y.incarnation && x.port == y.port &&
         x.name == y.name && x.host == y.host;
}

const char* to_string(member_event::kind x) noexcept {
  switch (x) {
  case member_event::joined:
    return "joined";
  case member_event::updated:
    return "updated";
  case member_event::left:
    return "left";
  }
  return "unknown";
}

std::string members_prefix(std::string_view cluster) {
  return fmt::format("/troupe/{}/members/", cluster);
}

std::string member_key_of(std::string_view cluster, std::string_view name) {
  return members_prefix(cluster) + std::string{name};
}

result<done> check_key_part(std::string_view what, std::string_view x) {
  if (x.empty())
    return error{errc::invalid, fmt::format("{} must not be empty", what)};
  for (char c : x)
    if (c == '/' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return error{errc::invalid,
                   fmt::format("{} '{}' must not hold '/' or control "
                               "characters",
                               what, x)};
  return done{};
}

std::string to_json(const member_record& x) {
  nlohmann::json j = {{"name", x.name},
                      {"incarnation", x.incarnation},
                      {"host", x.host},
                      {"port", x.port}};
  return j.dump();
}

result<member_record> parse_member_record(std::string_view json_text) {
  auto bad = [](std::string why) {
    return error{errc::bad_response,
                 fmt::format("malformed member record: {}", why)};
  };
  auto j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return bad("not a JSON object");
  auto name = j.find("name");
  auto inc = j.find("incarnation");
  auto host = j.find("host");
  auto port = j.find("port");
  if (name == j.end() || !name->is_string())
    return bad("no string 'name'");
  if (inc == j.end() || !inc->is_number_unsigned())
    return bad("no unsigned 'incarnation'");
  if (host == j.end() || !host->is_string())
    return bad("no string 'host'");
  if (port == j.end() || !port->is_number_unsigned() ||
      port->get<uint64_t>() > 65535)
    return bad("no 'port' between 0 and 65535");
  member_record out;
  out.name = name->get<std::string>();
  out.incarnation = inc->get<uint64_t>();
  out.host = host->get<std::string>();
  out.port = static_cast<uint16_t>(port->get<uint64_t>());
  return out;
}

} // namespace troupe::cluster::etcd
