// SPDX-License-Identifier: Apache-2.0
#include "dashboard/routes.hpp"

#include <optional>

#include "dashboard/assets.hpp"

namespace troupe::dashboard {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/// The path with its escapes decoded, or none for a malformed escape.
std::optional<std::string> decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size())
      return std::nullopt;
    int hi = hex_value(in[i + 1]);
    int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

bool clean(std::string_view path) {
  if (path.empty() || path.front() != '/')
    return false;
  for (char c : path)
    if (c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return false;
  // Segment by segment: "." and ".." never name anything here.
  size_t start = 1;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos)
      end = path.size();
    auto seg = path.substr(start, end - start);
    if (seg == "." || seg == "..")
      return false;
    start = end + 1;
  }
  return true;
}

} // namespace

route resolve(std::string_view method, std::string_view target) {
  route out;
  auto query = target.find_first_of("?#");
  auto decoded = decode(target.substr(0, query));
  if (!decoded || !clean(*decoded)) {
    out.kind = route_kind::bad_path;
    return out;
  }
  out.path = std::move(*decoded);
  bool get = method == "GET" || method == "HEAD";
  auto want = [&](route_kind kind, bool ok, std::string_view allow) {
    out.kind = ok ? kind : route_kind::bad_method;
    if (!ok)
      out.allow = allow;
    return out;
  };
  if (out.path == "/healthz")
    return want(route_kind::healthz, get, "GET, HEAD");
  if (out.path == "/readyz")
    return want(route_kind::readyz, get, "GET, HEAD");
  if (out.path == "/api/cluster")
    return want(route_kind::cluster, get, "GET, HEAD");
  if (out.path == "/api/history"
      || out.path.rfind("/api/history/actor/", 0) == 0)
    return want(route_kind::history, get, "GET, HEAD");
  if (out.path == "/api/events")
    return want(route_kind::events, method == "GET", "GET");
  if (out.path == "/api/kill")
    return want(route_kind::kill, method == "POST", "POST");
  if (find_asset(out.path))
    return want(route_kind::asset, get, "GET, HEAD");
  out.kind = route_kind::not_found;
  return out;
}

auth_result check_token(std::string_view authorization,
                        std::string_view token) {
  if (token.empty())
    return auth_result::disabled;
  constexpr std::string_view scheme = "Bearer ";
  if (authorization.size() < scheme.size()
      || authorization.substr(0, scheme.size()) != scheme)
    return auth_result::missing;
  auto given = authorization.substr(scheme.size());
  // Compare every byte of the token whatever the first difference.
  unsigned char diff = given.size() == token.size() ? 0 : 1;
  for (size_t i = 0; i < token.size(); ++i)
    diff |= static_cast<unsigned char>(token[i])
            ^ static_cast<unsigned char>(i < given.size() ? given[i] : 0);
  return diff == 0 ? auth_result::ok : auth_result::wrong;
}

} // namespace troupe::dashboard
