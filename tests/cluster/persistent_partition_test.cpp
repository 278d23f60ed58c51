// SPDX-License-Identifier: Apache-2.0
// Persistent children across a frozen node, on 3 member processes sharing
// one PostgreSQL journal: n3 is frozen (SIGSTOP) while its persistent
// children write; n1's supervisor moves them to n2, where they recover under
// a new writer epoch; n3 is woken (SIGCONT) and its old incarnations try to
// write again. Each event names the node that wrote it, so the journal
// shows what happened: no event from n3 after the first one written by the
// new incarnation on n2 (the stale writes were refused), no gap, no
// duplicate, and each moved child carries on from the state it had.
#include <csignal>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>

#include "child_process.hpp"
#include "echo_actor.hpp"
#include "name_events.hpp"
#include "runtime/persistence/postgres_server.hpp"
#include "troupe/error.hpp"
#include "troupe/node/node.hpp"
#include "troupe/persistence/sql_journals.hpp"
#include "troupe_test/test.pb.h"

using namespace std::chrono_literals;
using troupe::test::child_process;
using troupe::test::member_args;

namespace {

constexpr size_t child_count = 4;

std::string child(size_t i) {
  return "worker-" + std::to_string(i);
}

std::vector<std::string> with_journal(std::vector<std::string> args,
                                      const std::string& db) {
  // Before --seeds, which takes a list.
  args.insert(args.begin() + 5, {"--journal", db, "--log-level", "info"});
  return args;
}

TEST(PersistentPartition, AFrozenNodesStaleIncarnationsCannotWrite) {
  auto& pg = troupe::test::postgres_server::shared();
  auto db = pg.fresh_database("partition");
  auto n1_args = with_journal(member_args("n1", ""), db);
  n1_args.insert(n1_args.end(), {"supervise=4",
                                 "children=" + std::to_string(child_count),
                                 "tally=1"});
  child_process n1{n1_args};
  auto seed = "127.0.0.1:" + troupe::test::ready_port(n1);
  child_process n2{with_journal(member_args("n2", seed), db)};
  child_process n3{with_journal(member_args("n3", seed), db)};
  ASSERT_TRUE(n2.wait_for_line("READY")) << n2.output();
  ASSERT_TRUE(n3.wait_for_line("READY")) << n3.output();
  troupe::node_config cfg;
  cfg.name = "zz-client";
  cfg.seeds = {seed};
  cfg.log = troupe::log_level::warn;
  troupe::node client{cfg};
  troupe::test::add_echo_types(client);
  ASSERT_FALSE(client.start());
  ASSERT_TRUE(n1.wait_for_line("SUPERVISING")) << n1.output();
  // Scoped actors end before the client node shuts down (else it waits
  // for them).
  auto names_ptr = std::make_unique<caf::scoped_actor>(client.system());
  auto self_ptr = std::make_unique<caf::scoped_actor>(client.system());
  auto& names = *names_ptr;
  auto& self = *self_ptr;
  client.subscribe_names(names);
  // Where each child runs, and its total before the freeze.
  auto ask = [&](const std::string& name) {
    troupe_test::Pong out;
    troupe_test::Ping req;
    self->request(client.global_ref(name), 5s, req)
      .receive([&](troupe_test::Pong& x) { out = std::move(x); },
               [&](caf::error& err) { out.set_from(troupe::describe(err)); });
    return out;
  };
  std::map<std::string, troupe_test::Pong> before;
  for (size_t i = 0; i < child_count; ++i) {
    ASSERT_TRUE(troupe::test::await_holder(
      names, client, child(i), [](const caf::actor& h) { return bool(h); },
      10s))
      << n1.output();
    before[child(i)] = ask(child(i));
  }
  std::vector<std::string> frozen;
  caf::node_id n3_id;
  for (auto& [name, pong] : before) {
    ASSERT_TRUE(pong.from() == "n2" || pong.from() == "n3") << pong.from();
    if (pong.from() == "n3") {
      frozen.push_back(name);
      n3_id = client.whereis_global(name).node();
    }
  }
  ASSERT_FALSE(frozen.empty()) << "spread placement put nothing on n3";
  // Freeze n3 while its children write; they are moved to n2.
  n3.signal(SIGSTOP);
  ASSERT_TRUE(n3.wait_stopped());
  for (auto& name : frozen)
    ASSERT_TRUE(troupe::test::await_holder(
      names, client, name,
      [&](const caf::actor& h) { return h && h.node() != n3_id; }, 20s))
      << name << " did not move\n"
      << n1.output();
  // The new incarnations answer with at least the state they had.
  for (auto& name : frozen) {
    auto now = ask(name);
    EXPECT_EQ(now.from(), "n2") << name;
    EXPECT_GE(now.seq(), before[name].seq()) << name;
  }
  // Wake n3: its old incarnations are due to write at once.
  auto mark = n3.line_count();
  n3.signal(SIGCONT);
  // They stop: refused by the journal (writer_fenced), or told to stop by
  // the supervisor, or stopped by the node's own fencing, before they
  // wrote. Which one wins is a race; the journal below is the judge.
  auto seen = n3.wait_for_line("writer epoch", 10s, mark);
  std::cerr << "n3's stale incarnations: "
            << (seen ? "refused by the journal: " + *seen
                     : std::string{"stopped before they wrote"})
            << "\n";
  if (getenv("TROUPE_TEST_VERBOSE"))
    std::cerr << n3.output() << "\n";
  // Let the new incarnations write a while longer: a sign of life after
  // n3's wake-up, read from the journal below.
  for (auto& name : frozen)
    (void) ask(name);
  names_ptr.reset();
  self_ptr.reset();
  client.shutdown();
  for (auto* p : {&n1, &n2, &n3}) {
    p->signal(SIGTERM);
    EXPECT_TRUE(p->wait_exit(15s)) << p->output();
  }
  auto j = troupe::persistence::open_postgres_journal(db);
  ASSERT_TRUE(j) << troupe::describe(j.error());
  for (auto& name : frozen) {
    std::vector<troupe::persistence::record> evs;
    ASSERT_FALSE((*j)->replay("tally|" + name, 1, UINT64_MAX, UINT64_MAX,
                              [&](troupe::persistence::record&& x) {
                                evs.push_back(std::move(x));
                              }));
    ASSERT_FALSE(evs.empty()) << name;
    bool moved = false;
    size_t from_n3_after = 0, from_n2 = 0;
    for (size_t k = 0; k < evs.size(); ++k) {
      EXPECT_EQ(evs[k].seq, k + 1) << name << ": a gap or a duplicate";
      troupe_test::CounterEvent ev;
      ASSERT_TRUE(ev.ParseFromString(evs[k].bytes));
      if (ev.note() == "n2") {
        moved = true;
        ++from_n2;
      } else if (moved && ev.note() == "n3") {
        ++from_n3_after;
      }
    }
    EXPECT_GT(from_n2, 0u) << name << " never wrote from n2";
    EXPECT_EQ(from_n3_after, 0u)
      << name << ": n3's stale incarnation wrote after the move";
  }
}

} // namespace
