// SPDX-License-Identifier: Apache-2.0
// A node's snapshot of its supervision trees: paths, kinds, figures, and a
// drill failure that the supervisor counts.
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>

#include "troupe/error.hpp"
#include "troupe/node/node.hpp"
#include "troupe/supervision/supervisor.hpp"
#include "troupe/testkit/eventually.hpp"
#include "troupe/wire/introspect.pb.h"

using namespace std::chrono_literals;

namespace {

struct counter_state {
  static inline const char* name = "counter";
  int n = 0;
};

caf::behavior counter(troupe::stateful_actor<counter_state>* self) {
  return {
    [self](int x) { return self->state.n += x; },
  };
}

troupe::child_spec worker(std::string id) {
  troupe::child_spec spec;
  spec.id = std::move(id);
  spec.start = [](caf::actor_system& sys) {
    return troupe::spawn(sys, counter);
  };
  return spec;
}

// Says when it took its first message and holds on to it until `gate`
// opens, so that the test decides when its mailbox is full.
caf::behavior holder(troupe::stateful_actor<counter_state>* self,
                     std::shared_ptr<std::promise<void>> entered,
                     std::shared_future<void> gate) {
  return {
    [self, entered, gate](int x) {
      if (x == 0) {
        entered->set_value();
        gate.wait();
      }
      return self->state.n += x;
    },
  };
}

const troupe::wire::ActorInfo* find(const troupe::wire::NodeSnapshot& snap,
                                    const std::string& path) {
  for (auto& x : snap.actors())
    if (x.path() == path)
      return &x;
  return nullptr;
}

} // namespace

TEST(Snapshot, ListsTheTreeWithFiguresAndCountsADrillFailure) {
  troupe::node_config cfg;
  cfg.name = "solo";
  cfg.log = troupe::log_level::error;
  troupe::node n{cfg};
  ASSERT_FALSE(n.start());
  troupe::child_spec sub;
  sub.id = "sub";
  sub.kind = troupe::child_kind::supervisor;
  sub.start = [](caf::actor_system& sys) {
    return troupe::spawn_supervisor(sys, {}, {worker("x"), worker("y")});
  };
  auto root = n.start_root({}, {worker("a"), sub});
  caf::scoped_actor self{n.system()};
  caf::actor a;
  self->request(root, 5s, troupe::children_atom::value)
    .receive([&](std::vector<troupe::child_status>& xs) { a = xs[0].handle; },
             [&](caf::error& err) { FAIL() << troupe::describe(err); });
  // An actor counts a message once its handler returned, after the reply
  // left: the 11th reply means the first 10 were counted.
  for (int i = 0; i < 11; ++i)
    self->request(a, 5s, 1).receive([](int) {}, [](caf::error&) {});

  auto snap = n.snapshot_local();
  EXPECT_TRUE(snap.reachable());
  EXPECT_EQ(snap.member().name(), "solo");
  for (auto path : {"/root", "/root/a", "/root/sub", "/root/sub/x",
                    "/root/sub/y"})
    EXPECT_NE(find(snap, path), nullptr) << path;
  auto* info = find(snap, "/root/a");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->parent(), "/root");
  EXPECT_EQ(info->type(), "counter");
  EXPECT_EQ(info->node(), "solo");
  EXPECT_EQ(info->kind(), troupe::wire::ActorInfo::WORKER);
  EXPECT_EQ(info->status(), troupe::wire::ActorInfo::RUNNING);
  EXPECT_GE(info->figures().messages(), 10u);
  EXPECT_GT(info->figures().handler_ns_total(), 0u);
  EXPECT_EQ(info->figures().mailbox(), 0u);
  EXPECT_EQ(find(snap, "/root/sub")->kind(),
            troupe::wire::ActorInfo::SUPERVISOR);

  // CAF notifies the newest monitor first: this test's down message can
  // come before the supervisor's, so wait (bounded) for the restart.
  self->monitor(a);
  auto killed = n.fail_actor("/root/a");
  ASSERT_TRUE(killed) << troupe::describe(killed.error());
  EXPECT_EQ(killed->id(), a.id());
  EXPECT_FALSE(n.fail_actor("/root/nope"));
  self->receive([](const caf::down_msg&) {},
                caf::after(5s) >> [] { ADD_FAILURE() << "a did not fail"; });
  auto snap2 = n.snapshot_local();
  auto until = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < until) {
    auto x = find(snap2, "/root/a");
    if (x != nullptr && x->restarts() > 0)
      break;
    std::this_thread::sleep_for(5ms);
    snap2 = n.snapshot_local();
  }
  auto after = find(snap2, "/root/a");
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(after->restarts(), 1u);
  EXPECT_NE(after->id(), a.id()); // a new incarnation
  // One format whatever the cause: "<cause>: <text>".
  EXPECT_EQ(after->last_failure(),
            "handler_failed: made to fail by 'troupe kill'");
  EXPECT_EQ(killed->mode(), troupe::wire::KillRequest::EXIT);
  EXPECT_NE(killed->text().find("respawns it from its spec (new address)"),
            std::string::npos)
    << killed->text();
  EXPECT_GT(after->last_failure_unix_ms(), 0);
  // Cluster-wide from a lone node: just this one.
  auto all = n.snapshot_cluster();
  EXPECT_EQ(all.answered_by(), "solo");
  EXPECT_EQ(all.nodes_size(), 1);
}

TEST(Snapshot, ShowsBoundedMailboxesAndDeadLettersByReason) {
  troupe::node_config cfg;
  cfg.name = "bounded";
  cfg.log = troupe::log_level::error;
  troupe::node n{cfg};
  ASSERT_FALSE(n.start());
  std::promise<void> open;
  std::shared_future<void> gate = open.get_future().share();
  // Opened on every way out, or a failed assertion leaves the node's
  // shutdown waiting on the held handler.
  struct opener {
    std::promise<void>& p;
    bool opened = false;
    void operator()() {
      if (!opened)
        p.set_value();
      opened = true;
    }
    ~opener() {
      (*this)();
    }
  } open_gate{open};
  troupe::child_spec spec;
  spec.id = "b";
  spec.mailbox = {2, troupe::overflow_policy::reject};
  auto entered = std::make_shared<std::promise<void>>();
  auto in_handler = entered->get_future();
  spec.start = [entered, gate](caf::actor_system& sys) {
    return troupe::spawn(sys, holder, entered, gate);
  };
  auto root = n.start_root({}, {spec});
  caf::scoped_actor self{n.system()};
  caf::actor b;
  self->request(root, 5s, troupe::children_atom::value)
    .receive([&](std::vector<troupe::child_status>& xs) { b = xs[0].handle; },
             [&](caf::error& err) { FAIL() << troupe::describe(err); });
  ASSERT_TRUE(b);
  // 0 is held in the handler; then 1 and 2 wait and fill the mailbox.
  self->send(b, 0);
  ASSERT_EQ(in_handler.wait_for(5s), std::future_status::ready);
  self->send(b, 1);
  auto two = self->request(b, 5s, 2); // answered once b has drained
  for (int i = 0; i < 3; ++i)
    self->send(b, 2); // refused: dead letters
  self->request(b, 5s, 3).receive(
    [](int) { ADD_FAILURE() << "a full mailbox took a request"; },
    [](caf::error& err) {
      EXPECT_EQ(err.code(), static_cast<uint8_t>(troupe::errc::mailbox_full))
        << troupe::describe(err);
    });
  open_gate();
  two.receive([](int sum) { EXPECT_EQ(sum, 3); },
              [](caf::error& err) { ADD_FAILURE() << troupe::describe(err); });
  self->request(b, 5s, 10).receive(
    [](int sum) { EXPECT_EQ(sum, 13); },
    [](caf::error& err) { ADD_FAILURE() << troupe::describe(err); });
  // Dead letters of the other reasons: an ended actor behind a troupe
  // handle, and a name nobody holds.
  auto plain = n.system().spawn([]() -> caf::behavior { return {[](int) {}}; });
  auto via = n.ref(plain);
  self->send_exit(plain, caf::exit_reason::user_shutdown);
  self->wait_for(plain);
  self->send(via, 1);
  self->send(n.global_ref("nobody"), 1);

  // node.spawn takes a bound too.
  auto loose = n.spawn(
    troupe::mailbox_bound{5, troupe::overflow_policy::drop_newest}, counter);

  auto snap = n.snapshot_local();
  auto* solo = find(snap, "/unsupervised/counter-" + std::to_string(loose.id()));
  ASSERT_NE(solo, nullptr);
  EXPECT_EQ(solo->figures().mailbox_bound(), 5u);
  EXPECT_EQ(solo->figures().overflow(), "drop_newest");
  auto* info = find(snap, "/root/b");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->figures().mailbox_bound(), 2u);
  EXPECT_EQ(info->figures().overflow(), "reject");
  EXPECT_EQ(info->figures().dropped(), 4u); // 3 sends and a request
  EXPECT_EQ(snap.mailbox_dropped(), 4u);
  auto& by_reason = snap.dead_letters_by_reason();
  ASSERT_EQ(by_reason.count("mailbox_full"), 1u);
  EXPECT_EQ(by_reason.at("mailbox_full"), 3u);
  EXPECT_EQ(by_reason.at("actor_gone"), 1u);
  EXPECT_EQ(by_reason.at("name_not_found"), 1u);
  EXPECT_EQ(by_reason.at("node_down"), 0u);
  EXPECT_EQ(snap.dead_letters(), 5u);
  auto stats = n.cluster_statistics();
  EXPECT_EQ(stats.dead_letters, 5u);
  EXPECT_EQ(stats.dead_letters_mailbox_full, 3u);
  EXPECT_EQ(stats.mailbox_dropped, 4u);
  // An unbounded actor shows no bound.
  auto* sup = find(snap, "/root");
  ASSERT_NE(sup, nullptr);
  EXPECT_EQ(sup->figures().mailbox_bound(), 0u);
  EXPECT_EQ(sup->figures().overflow(), "");
}

// A drill in throw mode: the actor fails as a handler throw would, and its
// supervisor restarts it in place (same actor, fresh state).
TEST(Snapshot, ADrillThrowRestartsTheChildInPlace) {
  troupe::node_config cfg;
  cfg.name = "thrown";
  cfg.log = troupe::log_level::error;
  troupe::node n{cfg};
  ASSERT_FALSE(n.start());
  auto root = n.start_root({}, {worker("a")});
  caf::scoped_actor self{n.system()};
  caf::actor a;
  self->request(root, 5s, troupe::children_atom::value)
    .receive([&](std::vector<troupe::child_status>& xs) { a = xs[0].handle; },
             [&](caf::error& err) { FAIL() << troupe::describe(err); });
  self->request(a, 5s, 5).receive([](int) {}, [](caf::error&) {});
  auto failed = n.fail_actor("/root/a", troupe::node::fail_mode::handler_throw);
  ASSERT_TRUE(failed) << troupe::describe(failed.error());
  EXPECT_EQ(failed->id(), a.id());
  EXPECT_EQ(failed->mode(), troupe::wire::KillRequest::THROW);
  EXPECT_EQ(failed->text(),
            "failed /root/a (actor " + std::to_string(a.id())
              + " on thrown) as a handler throw would; its supervisor "
                "decides: restart in place (same address)");
  // The failed actor takes nothing else until its supervisor has counted
  // the restart and ordered it (or, under the restart permit it gave ahead,
  // until it restarted and told it): this answer comes from the fresh state,
  // and the snapshot asks the supervisor after that.
  self->request(a, 5s, 1).receive(
    [](int x) { EXPECT_EQ(x, 1); },
    [](caf::error& err) { ADD_FAILURE() << troupe::describe(err); });
  auto snap = n.snapshot_local();
  auto after = find(snap, "/root/a");
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(after->restarts(), 1u);
  EXPECT_EQ(after->status(), troupe::wire::ActorInfo::RUNNING);
  EXPECT_EQ(after->id(), a.id()) << "restarted in place";
  EXPECT_EQ(after->last_failure().rfind("handler_failed: ", 0), 0u)
    << after->last_failure();
  EXPECT_NE(after->last_failure().find("made to fail by 'troupe kill'"),
            std::string::npos)
    << after->last_failure();
}

TEST(Snapshot, ADrillThrowAtAPlainCafActorIsRefused) {
  troupe::node_config cfg;
  cfg.name = "plain";
  cfg.log = troupe::log_level::error;
  troupe::node n{cfg};
  ASSERT_FALSE(n.start());
  troupe::child_spec spec;
  spec.id = "p";
  spec.start = [](caf::actor_system& sys) {
    return sys.spawn([]() -> caf::behavior { return {[](int x) { return x; }}; });
  };
  n.start_root({}, {spec});
  auto refused = n.fail_actor("/root/p", troupe::node::fail_mode::handler_throw);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(),
            static_cast<uint8_t>(troupe::errc::bad_config));
  EXPECT_NE(troupe::describe(refused.error()).find("is not a troupe actor"),
            std::string::npos)
    << troupe::describe(refused.error());
  auto snap = n.snapshot_local();
  ASSERT_NE(find(snap, "/root/p"), nullptr);
  EXPECT_EQ(find(snap, "/root/p")->restarts(), 0u);
}

// Children are listed in start order (the order rest_for_one follows), with
// the cluster-wide name their supervisor binds.
TEST(Snapshot, ListsChildrenInStartOrderWithTheirClusterWideNames) {
  troupe::node_config cfg;
  cfg.name = "ordered";
  cfg.log = troupe::log_level::error;
  troupe::node n{cfg};
  ASSERT_FALSE(n.start());
  auto named = worker("a10");
  named.global_name = "ordered.a10";
  n.start_root({}, {worker("b"), named, worker("a9")});
  auto snap = n.snapshot_local();
  std::vector<std::string> paths;
  for (auto& x : snap.actors())
    if (x.parent() == "/root")
      paths.push_back(x.path());
  EXPECT_EQ(paths,
            (std::vector<std::string>{"/root/b", "/root/a10", "/root/a9"}));
  auto* a10 = find(snap, "/root/a10");
  ASSERT_NE(a10, nullptr);
  EXPECT_EQ(a10->global_name(), "ordered.a10");
  EXPECT_EQ(find(snap, "/root/b")->global_name(), "");
  // The supervisor hands the name to the cluster daemon without waiting
  // (a binder must not block), so the snapshot, answered by the
  // supervisors, says nothing about whether the daemon took it yet.
  caf::actor bound;
  EXPECT_TRUE(troupe::testkit::eventually([&] {
    bound = n.whereis_global("ordered.a10");
    return bound != nullptr;
  }));
  ASSERT_TRUE(bound);
  EXPECT_EQ(bound.id(), a10->id());
}

// A supervisor that does not list its children in time (here: blocked in
// a child's start while it restarts it) is marked in the snapshot, rather
// than shown with no children; once it answers, the mark goes.
TEST(Snapshot, MarksASupervisorThatDoesNotListItsChildrenInTime) {
  troupe::node_config cfg;
  cfg.name = "stuck";
  cfg.log = troupe::log_level::error;
  troupe::node n{cfg};
  ASSERT_FALSE(n.start());
  auto entered = std::make_shared<std::promise<void>>();
  std::promise<void> gate;
  std::shared_future<void> opened = gate.get_future().share();
  // Opens the gate on every way out, or the node's shutdown would wait on
  // a supervisor blocked for good.
  struct opener {
    std::promise<void>& p;
    bool done = false;
    void open() {
      if (!done)
        p.set_value();
      done = true;
    }
    ~opener() {
      open();
    }
  } guard{gate};
  auto starts = std::make_shared<std::atomic<int>>(0);
  troupe::child_spec slow;
  slow.id = "slow";
  slow.start = [starts, entered, opened](caf::actor_system& sys) {
    if (++*starts == 2) { // the restart: inside the supervisor's handler
      entered->set_value();
      opened.wait();
    }
    return troupe::spawn(sys, counter);
  };
  troupe::child_spec sub;
  sub.id = "sub";
  sub.kind = troupe::child_kind::supervisor;
  sub.start = [slow](caf::actor_system& sys) {
    return troupe::spawn_supervisor(sys, {}, {slow});
  };
  auto root = n.start_root({}, {worker("a"), sub});
  auto before = n.snapshot_local();
  ASSERT_NE(find(before, "/root/sub/slow"), nullptr);
  EXPECT_FALSE(find(before, "/root/sub")->children_unknown());

  ASSERT_TRUE(n.fail_actor("/root/sub/slow"));
  ASSERT_EQ(entered->get_future().wait_for(10s), std::future_status::ready);
  auto during = n.snapshot_local();
  auto* sub_info = find(during, "/root/sub");
  ASSERT_NE(sub_info, nullptr);
  EXPECT_TRUE(sub_info->children_unknown());
  EXPECT_EQ(find(during, "/root/sub/slow"), nullptr);
  // The others are listed as before, and not marked.
  EXPECT_FALSE(find(during, "/root")->children_unknown());
  EXPECT_NE(find(during, "/root/a"), nullptr);
  EXPECT_FALSE(find(during, "/root/a")->children_unknown());

  guard.open();
  // Sync on the supervisor answering again before the next look.
  caf::scoped_actor self{n.system()};
  caf::actor sub_hdl;
  self->request(root, 5s, troupe::children_atom::value)
    .receive(
      [&](std::vector<troupe::child_status>& xs) { sub_hdl = xs[1].handle; },
      [&](caf::error& err) { FAIL() << troupe::describe(err); });
  ASSERT_TRUE(sub_hdl);
  self->request(sub_hdl, 5s, troupe::children_atom::value)
    .receive([](std::vector<troupe::child_status>&) {},
             [&](caf::error& err) { FAIL() << troupe::describe(err); });
  auto after = n.snapshot_local();
  ASSERT_NE(find(after, "/root/sub"), nullptr);
  EXPECT_FALSE(find(after, "/root/sub")->children_unknown());
  EXPECT_NE(find(after, "/root/sub/slow"), nullptr);
}
