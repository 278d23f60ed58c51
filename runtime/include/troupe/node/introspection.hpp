// SPDX-License-Identifier: Apache-2.0
// What a node's introspection returns: include this to call
// `node::snapshot_local`, `snapshot_cluster` and `fail_actor` (node.hpp only
// declares their Protobuf result types).
#pragma once

#include "troupe/node/node.hpp"
#include "troupe/wire/introspect.pb.h"
