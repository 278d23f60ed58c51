// SPDX-License-Identifier: Apache-2.0
// The answers: health, readiness, the page's files, the cluster as JSON,
// and the token-guarded kill. Calls into the node that may block run on
// the worker thread; `done` then runs on the I/O thread.
#pragma once

#include <functional>

#include "dashboard/http_session.hpp"
#include "dashboard/routes.hpp"

namespace troupe::dashboard {

/// A response with the headers every answer carries.
response make_response(http::status status, std::string body,
                       std::string_view content_type, const request& req);

/// Answers `req`, routed to `r` (any kind but `events`).
void answer(hub& h, const route& r, const request& req,
            std::function<void(response)> done);

} // namespace troupe::dashboard
