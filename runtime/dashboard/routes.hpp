// SPDX-License-Identifier: Apache-2.0
// What a request asks for, decided from its method and target alone (no
// Beast types: the rules are plain functions, tested on their own).
#pragma once

#include <string>
#include <string_view>

namespace troupe::dashboard {

enum class route_kind {
  healthz,    // GET /healthz
  readyz,     // GET /readyz
  asset,      // GET one of the page's files
  cluster,    // GET /api/cluster
  history,    // GET /api/history, GET /api/history/actor/<key>
  events,     // GET /api/events (Server-Sent Events)
  kill,       // POST /api/kill
  not_found,  // 404
  bad_path,   // 400: not a clean absolute path (traversal, bad escapes)
  bad_method, // 405; `allow` says which methods the path takes
};

struct route {
  route_kind kind = route_kind::not_found;
  /// The decoded path, without the query.
  std::string path;
  /// For bad_method: the Allow header.
  std::string_view allow;
};

/// Decodes `target`'s path (percent escapes) and refuses, before any
/// lookup, a path that is not absolute or has "." or ".." segments,
/// backslashes, NUL or other control bytes, however they were encoded.
/// `method` is the request line's method ("GET", "HEAD", "POST", ...).
route resolve(std::string_view method, std::string_view target);

/// The answer of an action to its Authorization header.
enum class auth_result {
  ok,
  /// No `--http-token`: actions are off (403).
  disabled,
  /// No Bearer credentials (401).
  missing,
  /// Credentials that are not the token (403).
  wrong,
};

/// Checks `authorization` ("Bearer <token>") against `token` in time that
/// does not depend on where they differ.
auth_result check_token(std::string_view authorization,
                        std::string_view token);

} // namespace troupe::dashboard
