// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>

/// Forward declarations of troupe's public types.

namespace troupe {

class actor_base;
class node;
struct handler_failure;
struct node_config;
struct parsed_config;
enum class errc : uint8_t;
enum class log_level;

template <class State>
class stateful_actor;

namespace wire {

class type_registry;
struct rejected_message;
struct stats;
struct type_entry;

} // namespace wire

} // namespace troupe
