// SPDX-License-Identifier: Apache-2.0
// Snapshots of persistent actors taken while they restart in place: the
// introspection thread reads an actor's type name and persistence id while
// the actor's init function sets them again on a worker. Checked by the
// TSan pass (tools/dev tsan): before the fix, the restart replaced the
// strings the snapshot was copying (a data race on `name()`, and a
// use-after-free of the persistence id's buffer), which TSan reported in
// the first second of this test. Without a sanitizer it checks what the
// snapshot says after the storm.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>

#include "runtime/persistence/counter_actor.hpp"
#include "troupe/actor/spawn.hpp"
#include "troupe/node/node.hpp"
#include "troupe/supervision/supervisor.hpp"
#include "troupe/wire/introspect.pb.h"

using namespace std::chrono_literals;

TEST(PersistentSnapshot, SnapshotsTakenDuringRestartsInPlaceReadTypeAndIdSafely) {
  troupe::node_config cfg;
  cfg.name = "snap";
  cfg.log = troupe::log_level::off; // 300 crash reports
  cfg.journal = "memory:";
  troupe::node n{cfg};
  ASSERT_FALSE(n.start());
  troupe::child_spec spec;
  spec.id = "c";
  spec.start = [](caf::actor_system& sys) {
    // A key past the short-string buffer: the id lives on the heap.
    return troupe::spawn(sys, troupe::test::counter,
                         std::string{"a-key-longer-than-the-sso-buffer"},
                         troupe::persistence::snapshot_policy{});
  };
  troupe::supervisor_flags flags;
  flags.max_restarts = 1000;
  auto root = n.start_root(flags, {spec});
  caf::scoped_actor self{n.system()};
  caf::actor child;
  self->request(root, 5s, troupe::children_atom::value)
    .receive([&](std::vector<troupe::child_status>& xs) { child = xs.at(0).handle; },
             [&](caf::error& err) { FAIL() << troupe::describe(err); });
  ASSERT_TRUE(child);
  std::atomic<bool> stop{false};
  std::atomic<int> snapshots{0};
  std::thread reader{[&] {
    while (!stop.load())
      if (n.snapshot_local().actors_size() > 0)
        ++snapshots;
  }};
  // Each int throws: the supervisor restarts the child in place, whose
  // init function names it again. The request's answer is the crash.
  constexpr int crashes = 300;
  int answered = 0;
  for (int i = 0; i < crashes; ++i)
    self->request(child, 5s, 1).receive([](int64_t) {},
                                        [&](caf::error&) { ++answered; });
  stop = true;
  reader.join();
  EXPECT_EQ(answered, crashes);
  EXPECT_GT(snapshots.load(), 0);
  auto snap = n.snapshot_local();
  bool found = false;
  for (auto& a : snap.actors())
    if (a.path() == "/root/c") {
      found = true;
      EXPECT_EQ(a.type(), "counter");
      EXPECT_EQ(a.persistence().id(),
                "counter|a-key-longer-than-the-sso-buffer");
      EXPECT_EQ(a.restarts(), static_cast<uint32_t>(crashes));
    }
  EXPECT_TRUE(found) << "no /root/c in the snapshot";
  EXPECT_TRUE(n.shutdown());
}
