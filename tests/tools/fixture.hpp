// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "troupe/wire/introspect.pb.h"

namespace troupe::tool::test {

/// A fixed three-node snapshot, answered by n1:
/// - n1 runs `/root`, whose children in start order are the nested
///   supervisor `/root/workers` (w1, and w2 restarting after a failure),
///   `/root/remote`, whose child `/root/remote/r1` runs on n2 under the
///   cluster-wide name `app.shard-1` (n1 lists it), and a stopped
///   `/root/logger`;
/// - n2 runs its own `/root` tree, an unsupervised actor, and n1's remote
///   child;
/// - n3 did not answer (suspect, with an error).
wire::ClusterSnapshot fixture_snapshot();

} // namespace troupe::tool::test
