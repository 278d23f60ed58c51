// SPDX-License-Identifier: Apache-2.0
#include "dashboard/assets.hpp"

namespace troupe::dashboard {

namespace {

std::string_view content_type_of(std::string_view path) {
  auto ends = [&](std::string_view ext) {
    return path.size() >= ext.size()
           && path.substr(path.size() - ext.size()) == ext;
  };
  if (ends(".html"))
    return "text/html; charset=utf-8";
  if (ends(".js"))
    return "text/javascript; charset=utf-8";
  if (ends(".css"))
    return "text/css; charset=utf-8";
  if (ends(".svg"))
    return "image/svg+xml";
  if (ends(".json"))
    return "application/json";
  return "application/octet-stream";
}

} // namespace

std::optional<asset> find_asset(std::string_view path) {
  if (path == "/")
    path = "/index.html";
  if (path.empty() || path.front() != '/')
    return std::nullopt;
  path.remove_prefix(1);
  std::size_t count = 0;
  auto* files = embedded_files(count);
  // A handful of files: a linear scan is the simplest exact match.
  for (std::size_t i = 0; i < count; ++i)
    if (path == files[i].path)
      return asset{{reinterpret_cast<const char*>(files[i].data), files[i].size},
                   content_type_of(path)};
  return std::nullopt;
}

} // namespace troupe::dashboard
