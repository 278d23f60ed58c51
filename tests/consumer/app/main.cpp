// SPDX-License-Identifier: Apache-2.0
// Smallest troupe program: start a node, spawn one stateful actor, ask it
// one question, ask an actor in the app's own Protobuf message, ask a typed
// actor under a supervisor, look at the node's tree and fail a child as
// `troupe kill` does, shut down; then, with the installed test kit, two
// nodes in one process exchange the app's message, one is killed and the
// other sees it down, and the tally is stepped deterministically. Built
// against an installed troupe only.
#include <chrono>
#include <iostream>

#include <caf/send.hpp>
#include <caf/typed_actor.hpp>
#include <troupe/actor/ask.hpp>
#include <troupe/error.hpp>
#include <troupe/node/introspection.hpp>
#include <troupe/supervision/supervisor.hpp>
#include <troupe/supervision/supervisor_handle.hpp>
#include <troupe/testkit/cluster.hpp>
#include <troupe/testkit/deterministic.hpp>
#include <troupe/wire/proto.hpp>

#include "consumer/tally.pb.h"

namespace {

struct adder_state {
  static inline const char* name = "consumer.adder";
  int calls = 0;
};

caf::behavior adder(troupe::stateful_actor<adder_state>* self) {
  return {
    [self](int x) {
      ++self->state.calls;
      return x + 1;
    },
  };
}

struct tally_state {
  static inline const char* name = "consumer.tally";
  int64_t total = 0;
};

/// Answers the app's own Protobuf messages (consumer/tally.proto).
caf::behavior tally(troupe::stateful_actor<tally_state>* self,
                    std::string node_name) {
  return {
    [self, node_name](const consumer::Add& x) {
      self->state.total += x.amount();
      consumer::Total reply;
      reply.set_total(self->state.total);
      reply.mutable_served_by()->set_name(node_name);
      return reply;
    },
  };
}

/// Asks the tally in the app's own message.
bool proto(troupe::node& n) {
  auto hdl = n.spawn(tally, n.name());
  consumer::Add add;
  add.set_amount(40);
  auto first = troupe::ask<consumer::Total>(n.system(), hdl,
                                            std::chrono::seconds{5}, add);
  add.set_amount(2);
  auto x = troupe::ask<consumer::Total>(n.system(), hdl,
                                        std::chrono::seconds{5}, add);
  if (!first || !x || x->total() != 42 || x->served_by().name() != n.name()) {
    std::cerr << "consumer: proto ask: "
              << (x ? x->DebugString() : troupe::describe(x.error())) << '\n';
    return false;
  }
  std::cout << "consumer proto ok: " << x->total() << " from "
            << x->served_by().name() << std::endl;
  return true;
}

/// The test kit as an application's tests would use it.
bool kit() {
  troupe::testkit::cluster_options opts;
  opts.prepare = [](troupe::node& n) {
    n.add_message_type<consumer::Add>().add_message_type<consumer::Total>();
  };
  troupe::testkit::cluster c{opts};
  if (auto err = c.start(2)) {
    std::cerr << "consumer: testkit: " << troupe::describe(err) << '\n';
    return false;
  }
  auto t = c[1].spawn(tally, c[1].name());
  if (auto err = c[1].register_name("tally", t)) {
    std::cerr << "consumer: testkit: " << troupe::describe(err) << '\n';
    return false;
  }
  auto far = c[0].lookup("127.0.0.1", c[1].port(), "tally");
  if (!far) {
    std::cerr << "consumer: testkit: " << troupe::describe(far.error())
              << '\n';
    return false;
  }
  consumer::Add add;
  add.set_amount(42);
  auto x = troupe::ask<consumer::Total>(c[0].system(), *far,
                                        std::chrono::seconds{5}, add);
  if (!x || x->total() != 42 || x->served_by().name() != "n2") {
    std::cerr << "consumer: testkit ask: "
              << (x ? x->DebugString() : troupe::describe(x.error())) << '\n';
    return false;
  }
  c.kill(1);
  auto down = c.await_member(0, 1, troupe::member_status::down);
  troupe::testkit::deterministic d{[](troupe::wire::type_registry& types) {
    types.add<consumer::Add>();
    types.add<consumer::Total>();
  }};
  auto a = troupe::spawn(d.system(), tally, std::string{"deterministic"});
  auto y = d.ask<consumer::Total>(a, add);
  if (!down || !y || y->total() != 42) {
    std::cerr << "consumer: testkit: n2 down seen: " << down.has_value()
              << ", deterministic: "
              << (y ? y->DebugString() : troupe::describe(y.error())) << '\n';
    return false;
  }
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  d.run();
  std::cout << "consumer testkit ok: " << x->total() << " from "
            << x->served_by().name() << ", n2 killed and seen down, "
            << y->total() << " deterministically" << std::endl;
  return true;
}

using doubler = caf::typed_actor<caf::replies_to<int>::with<int>>;

doubler::behavior_type doubling(troupe::stateful_actor<adder_state>*) {
  return {[](int x) { return 2 * x; }};
}

/// A typed actor under a supervisor, asked through its typed handle.
bool typed(troupe::node& n) {
  troupe::child_spec spec;
  spec.id = "doubler";
  spec.start = [](caf::actor_system& sys) {
    return caf::actor_cast<caf::actor>(
      troupe::spawn_typed<doubler>(sys, doubling));
  };
  troupe::supervisor_handle sup{n.start_root({}, {spec})};
  auto kids = sup.which_children();
  if (!kids || kids->size() != 1)
    return false;
  auto hdl = caf::actor_cast<doubler>(kids->at(0).handle);
  auto x = troupe::ask<int>(n.system(), hdl, std::chrono::seconds{5}, 21);
  if (!x || *x != 42) {
    std::cerr << "consumer: typed ask: "
              << (x ? std::to_string(*x) : troupe::describe(x.error()))
              << '\n';
    return false;
  }
  std::cout << "consumer typed ok: " << *x << std::endl;
  return true;
}

/// The node's trees, as `troupe tree` sees them (issue 17: these did not
/// compile against the installed headers).
bool introspect(troupe::node& n) {
  troupe::child_spec spec;
  spec.id = "worker";
  spec.start = [](caf::actor_system& sys) { return troupe::spawn(sys, adder); };
  n.start_root({}, {spec});
  auto local = n.snapshot_local();
  bool found = false;
  for (auto& a : local.actors())
    found = found || (a.path() == "/root/worker" && a.type() == "consumer.adder");
  auto cluster = n.snapshot_cluster(std::chrono::seconds{2});
  auto killed = n.fail_actor("/root/worker");
  if (!found || cluster.nodes_size() != 1 || !killed) {
    std::cerr << "consumer: introspection: found=" << found
              << " nodes=" << cluster.nodes_size() << " kill="
              << (killed ? killed->text() : troupe::describe(killed.error()))
              << '\n';
    return false;
  }
  std::cout << "consumer introspection ok: " << killed->text() << std::endl;
  return true;
}

} // namespace

int main() {
  troupe::node n;
  n.add_message_type<consumer::Add>().add_message_type<consumer::Total>();
  if (auto err = n.start()) {
    std::cerr << "consumer: node failed to start: " << troupe::describe(err)
              << '\n';
    return 1;
  }
  auto hdl = n.spawn(adder);
  auto answer = troupe::ask<int>(n.system(), hdl, std::chrono::seconds{5}, 41);
  if (!answer)
    std::cerr << "consumer: request failed: " << troupe::describe(answer.error())
              << '\n';
  int result = answer ? *answer : -1;
  bool seen = introspect(n) && typed(n) // introspect expects /root
              && proto(n);
  n.shutdown();
  seen = seen && kit();
  if (result != 42 || !seen)
    return 1;
  std::cout << "consumer ok: " << result << std::endl;
  return 0;
}
