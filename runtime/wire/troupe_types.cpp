// SPDX-License-Identifier: Apache-2.0
#include "wire/troupe_types.hpp"

#include "troupe/wire/cluster.pb.h"
#include "troupe/wire/introspect.pb.h"
#include "troupe/wire/node.pb.h"
#include "troupe/wire/proto.hpp"

namespace troupe::wire::detail {

void add_troupe_types(type_registry& types) {
  types.add<Lookup>();
  types.add<NodeInfoRequest>();
  types.add<NodeInfo>();
  types.add<Join>();
  types.add<Welcome>();
  types.add<Fenced>();
  types.add<Heartbeat>();
  types.add<Leave>();
  types.add<NameEntry>();
  types.add<SpawnRequest>();
  types.add<FlowHello>();
  types.add<FlowMarker>();
  types.add<FlowAck>();
  types.add<GossipDigest>();
  types.add<GossipDelta>();
  types.add<GossipRecords>();
  types.add<SnapshotRequest>();
  types.add<ClusterSnapshot>();
  types.add<KillRequest>();
  types.add<KillReply>();
}

} // namespace troupe::wire::detail
