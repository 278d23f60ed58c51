// SPDX-License-Identifier: Apache-2.0
#include "fixture.hpp"

#include <string>

namespace troupe::tool::test {

namespace {

wire::NodeSnapshot* add_node(wire::ClusterSnapshot& snap, const char* name,
                             uint64_t incarnation, const char* host,
                             uint32_t port, wire::MemberStatus status) {
  auto* ns = snap.add_nodes();
  auto* m = ns->mutable_member();
  m->set_name(name);
  m->set_incarnation(incarnation);
  m->set_host(host);
  m->set_port(port);
  m->set_status(status);
  return ns;
}

wire::ActorInfo* add_actor(wire::NodeSnapshot* ns, const std::string& path,
                           const std::string& parent, uint64_t id,
                           const std::string& type,
                           wire::ActorInfo::Kind kind) {
  auto* a = ns->add_actors();
  a->set_path(path);
  a->set_parent(parent);
  a->set_id(id);
  a->set_node(ns->member().name());
  a->set_type(type);
  a->set_kind(kind);
  a->set_status(wire::ActorInfo::RUNNING);
  a->set_uptime_ms(3'600'000);
  return a;
}

void set_figures(wire::ActorInfo* a, uint64_t messages, uint64_t mailbox,
                 double rate) {
  auto* f = a->mutable_figures();
  f->set_messages(messages);
  f->set_mailbox(mailbox);
  f->set_handler_ns_total(messages * 1500);
  f->set_handler_ns_max(messages > 0 ? 250'000 : 0);
  f->set_msgs_per_sec(rate);
}

} // namespace

wire::ClusterSnapshot fixture_snapshot() {
  constexpr auto sup = wire::ActorInfo::SUPERVISOR;
  constexpr auto worker = wire::ActorInfo::WORKER;
  wire::ClusterSnapshot snap;
  snap.set_answered_by("n1");
  // Listed out of name order: renderers sort nodes by name.
  auto* n2 = add_node(snap, "n2", 1714560000000002, "10.0.0.2", 4002, wire::UP);
  auto* n1 = add_node(snap, "n1", 1714560000000001, "10.0.0.1", 4001, wire::UP);
  auto* n3 =
      add_node(snap, "n3", 1714560000000003, "10.0.0.3", 4003, wire::SUSPECT);
  n1->set_reachable(true);
  n1->set_uptime_ms(3'723'000); // 1h02m03s
  n1->set_dead_letters(2);
  (*n1->mutable_dead_letters_by_reason())["mailbox_full"] = 1;
  (*n1->mutable_dead_letters_by_reason())["actor_gone"] = 1;
  (*n1->mutable_dead_letters_by_reason())["node_down"] = 0;
  n1->set_mailbox_dropped(40);
  // Listed as the runtime walks a tree: each supervisor's children in start
  // order (workers, remote, logger), which is not their name order; each
  // subtree right after its root. Renderers keep that order.
  auto* root = add_actor(n1, "/root", "", 10, "troupe.supervisor", sup);
  set_figures(root, 2, 0, 0.0);
  auto* workers =
      add_actor(n1, "/root/workers", "/root", 11, "troupe.supervisor", sup);
  set_figures(workers, 4, 0, 0.0);
  auto* w1 =
      add_actor(n1, "/root/workers/w1", "/root/workers", 13, "counter", worker);
  set_figures(w1, 48210, 3, 120.5);
  // A bounded mailbox that overflowed.
  w1->mutable_figures()->set_mailbox_bound(64);
  w1->mutable_figures()->set_overflow("drop_oldest");
  w1->mutable_figures()->set_dropped(40);
  auto* w2 =
      add_actor(n1, "/root/workers/w2", "/root/workers", 14, "counter", worker);
  w2->set_status(wire::ActorInfo::RESTARTING);
  w2->set_restarts(3);
  // As every supervisor words a failure: "<cause>: <text>".
  w2->set_last_failure("handler_failed: std::runtime_error: disk full "
                       "(in a message of type app.Write)");
  w2->set_last_failure_unix_ms(1714564800123); // 2024-05-01T12:00:00.123Z
  w2->set_uptime_ms(0);
  set_figures(w2, 5120, 17, 0.0);
  auto* remote =
      add_actor(n1, "/root/remote", "/root", 15, "troupe.supervisor", sup);
  set_figures(remote, 1, 0, 0.0);
  // n1's remote child: listed by n1 (the supervisor's node, as the runtime
  // does), it runs on n2 under a cluster-wide name.
  auto* r1 =
      add_actor(n1, "/root/remote/r1", "/root/remote", 22, "shard", worker);
  r1->set_node("n2");
  r1->set_restarts(1);
  r1->set_global_name("app.shard-1");
  r1->set_last_failure("node_lost: remote_link_unreachable");
  r1->set_last_failure_unix_ms(1714564500000); // 2024-05-01T11:55:00Z
  set_figures(r1, 25200, 1, 42.0);
  auto* logger = add_actor(n1, "/root/logger", "/root", 12, "logger", worker);
  logger->set_status(wire::ActorInfo::STOPPED);
  set_figures(logger, 310, 0, 0.0);
  n2->set_reachable(true);
  n2->set_uptime_ms(600'000); // 10m
  // n2 has a "/root" of its own: paths are unique per node only.
  auto* root2 = add_actor(n2, "/root", "", 20, "troupe.supervisor", sup);
  set_figures(root2, 0, 0, 0.0);
  auto* http = add_actor(n2, "/root/http", "/root", 21, "http_server", worker);
  set_figures(http, 570150, 0, 950.4);
  auto* cache =
      add_actor(n2, "/unsupervised/cache-23", "", 23, "cache", worker);
  set_figures(cache, 900, 0, 1.5);
  n3->set_reachable(false);
  n3->set_error("no answer within 2s (connect_failed: cannot reach node at "
                "10.0.0.3:4003)");
  return snap;
}

} // namespace troupe::tool::test
