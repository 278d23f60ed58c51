// SPDX-License-Identifier: Apache-2.0
// The page's files, built into the binary (web/, embedded by
// cmake/TroupeEmbed.cmake): served from memory, never from the filesystem,
// so the dashboard works offline and a request path cannot reach a file.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace troupe::dashboard {

/// One file of web/ as the generated source holds it.
struct embedded_file {
  const char* path;
  const unsigned char* data;
  std::size_t size;
};

/// The generated table (gen/troupe_runtime_embedded.cpp).
const embedded_file* embedded_files(std::size_t& count);

struct asset {
  std::string_view body;
  std::string_view content_type;
};

/// The file served at `path` ("/" is "/index.html"), or none.
std::optional<asset> find_asset(std::string_view path);

} // namespace troupe::dashboard
