// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Forward declarations of troupe::actors' public types.

namespace troupe::actors {

class pool;
class task_registry;
class topic;
struct map_options;
struct pool_options;
struct pool_stats;
struct router_options;

template <class In, class Out>
class task;

} // namespace troupe::actors
