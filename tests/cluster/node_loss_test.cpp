// SPDX-License-Identifier: Apache-2.0
// Losing a node is not a crash loop: three member processes on 127.0.0.1,
// n1's root supervisor with more remote children on n3 than its
// max_restarts; n3 is killed, frozen or stopped gracefully, and every child
// it hosted moves to a live node while the supervisor and n1 keep running.
// A crash loop of one child still makes the supervisor give up.
#include <csignal>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>

#include "child_process.hpp"
#include "echo_actor.hpp"
#include "name_events.hpp"
#include "troupe/error.hpp"
#include "troupe/node/node.hpp"
#include "troupe/wire/introspect.pb.h"

using namespace std::chrono_literals;
using troupe::test::child_process;
using troupe::test::member_args;
using troupe::test::program;

namespace {

/// n3 hosts half of them, one more than `max_restarts`.
constexpr size_t child_count = 8;
constexpr size_t max_restarts = 3;

/// What n1 logs when its root supervisor fails (node.cpp), and what the
/// supervisor logs when it gives up.
constexpr const char* root_failed = "the root supervisor failed";
constexpr const char* gives_up = "gives up";

std::string worker(size_t i) {
  return "worker-" + std::to_string(i);
}

bool has_error(const caf::error& err, troupe::errc code) {
  return err.category() == troupe::error_category
         && err.code() == static_cast<uint8_t>(code);
}

/// Three members n1, n2, n3 and this test process as a fourth one, the
/// client (it hosts no actor type, so nothing is placed on it). n1's root
/// supervisor has remote children "worker-<i>" (type "echo", placement
/// spread: on n2 and n3 in turn, never on n1 while they are up).
class NodeLoss : public testing::Test {
protected:
  void TearDown() override {
    if (HasFailure())
      for (auto* p : {n1_.get(), n2_.get(), n3_.get()})
        if (p != nullptr)
          std::cerr << "-- output of pid " << p->pid() << ":\n"
                    << p->output();
    self_.reset();
    names_.reset();
    client_.reset();
    // The supervising node first: the others' leaving then moves nothing.
    n1_.reset();
    n2_.reset();
    n3_.reset();
  }

  /// Starts the cluster; returns when every child answers and `hosts_`
  /// says where each runs.
  void start(size_t restarts, size_t children = child_count) {
    auto n1_args = member_args("n1", "");
    n1_args.insert(n1_args.end(),
                   {"supervise=4", "children=" + std::to_string(children),
                    "max_restarts=" + std::to_string(restarts),
                    "period_ms=5000"});
    n1_ = std::make_unique<child_process>(n1_args);
    auto port = troupe::test::ready_port(*n1_);
    n1_port_ = static_cast<uint16_t>(std::stoul(port));
    auto seed = "127.0.0.1:" + port;
    n2_ = std::make_unique<child_process>(member_args("n2", seed));
    n3_ = std::make_unique<child_process>(member_args("n3", seed));
    ASSERT_TRUE(n2_->wait_for_line("READY")) << n2_->output();
    ASSERT_TRUE(n3_->wait_for_line("READY")) << n3_->output();
    troupe::node_config cfg;
    cfg.name = "zz-client";
    cfg.seeds = {seed};
    cfg.log = troupe::log_level::warn;
    client_ = std::make_unique<troupe::node>(cfg);
    troupe::test::add_echo_types(*client_);
    ASSERT_FALSE(client_->start());
    for (auto* p : {n1_.get(), n2_.get(), n3_.get()})
      ASSERT_TRUE(p->wait_for_line("CLUSTER up=4")) << p->output();
    names_ = std::make_unique<caf::scoped_actor>(client_->system());
    client_->subscribe_names(*names_);
    self_ = std::make_unique<caf::scoped_actor>(client_->system());
    ASSERT_TRUE(n1_->wait_for_line("SUPERVISING")) << n1_->output();
    for (size_t i = 0; i < children; ++i) {
      ASSERT_TRUE(troupe::test::await_holder(
        *names_, *client_, worker(i),
        [](const caf::actor& hdl) { return static_cast<bool>(hdl); }, 10s))
        << worker(i) << " never got its name\n"
        << n1_->output();
      auto from = answer_from(worker(i));
      ASSERT_TRUE(from == "n2" || from == "n3") << worker(i) << ": " << from;
      hosts_[worker(i)] = from;
    }
  }

  /// The children that run on `node`.
  std::vector<std::string> on(const std::string& node) const {
    std::vector<std::string> result;
    for (auto& [name, host] : hosts_)
      if (host == node)
        result.emplace_back(name);
    return result;
  }

  /// The node that answers a Ping sent to the cluster name `name`, or the
  /// error.
  std::string answer_from(const std::string& name) {
    std::string result;
    troupe_test::Ping req;
    req.set_seq(1);
    (*self_)
      ->request(client_->global_ref(name), 5s, req)
      .receive([&](const troupe_test::Pong& x) { result = x.from(); },
               [&](caf::error& err) {
                 result = "error: " + troupe::describe(err);
               });
    return result;
  }

  /// Waits until every child in `moved` has its name on another node than
  /// `lost`, then checks that every child answers from a live node other
  /// than `lost_name`.
  void expect_moved(const std::vector<std::string>& moved,
                    const caf::node_id& lost, const std::string& lost_name) {
    for (auto& name : moved)
      ASSERT_TRUE(troupe::test::await_holder(
        *names_, *client_, name,
        [&](const caf::actor& hdl) { return hdl && hdl.node() != lost; },
        10s))
        << name << " did not move off " << lost_name << "\n"
        << n1_->output();
    for (auto& kvp : hosts_) {
      auto from = answer_from(kvp.first);
      EXPECT_TRUE(from == "n1" || from == "n2")
        << kvp.first << " (was on " << kvp.second << "): " << from;
    }
  }

  /// Asks n1 for its snapshot: the root supervisor answers with every
  /// child running, none on `lost_name`; and n1 logged no escalation.
  void expect_root_runs(const std::string& lost_name) {
    auto svc = client_->lookup("127.0.0.1", n1_port_, "troupe.introspect");
    ASSERT_TRUE(svc) << troupe::describe(svc.error()) << "\n"
                     << n1_->output();
    troupe::wire::ClusterSnapshot snap;
    (*self_)
      ->request(*svc, 10s, troupe::wire::SnapshotRequest{})
      .receive([&](troupe::wire::ClusterSnapshot& x) { snap = std::move(x); },
               [&](caf::error& err) {
                 ADD_FAILURE() << "n1 did not answer: "
                               << troupe::describe(err);
               });
    ASSERT_EQ(snap.nodes_size(), 1) << n1_->output();
    auto& node = snap.nodes(0);
    bool root = false;
    size_t running = 0;
    for (auto& actor : node.actors()) {
      if (actor.path() == "/root") {
        root = true;
        EXPECT_EQ(actor.kind(), troupe::wire::ActorInfo::SUPERVISOR);
      }
      if (actor.parent() != "/root")
        continue;
      EXPECT_EQ(actor.status(), troupe::wire::ActorInfo::RUNNING)
        << actor.path();
      EXPECT_NE(actor.node(), lost_name) << actor.path();
      if (actor.status() == troupe::wire::ActorInfo::RUNNING)
        ++running;
    }
    EXPECT_TRUE(root) << "no root supervisor in n1's snapshot";
    EXPECT_EQ(running, hosts_.size());
    auto log = n1_->output();
    EXPECT_EQ(log.find(gives_up), std::string::npos) << log;
    EXPECT_EQ(log.find(root_failed), std::string::npos) << log;
  }

  std::unique_ptr<child_process> n1_;
  std::unique_ptr<child_process> n2_;
  std::unique_ptr<child_process> n3_;
  uint16_t n1_port_ = 0;
  std::unique_ptr<troupe::node> client_;
  std::unique_ptr<caf::scoped_actor> names_;
  std::unique_ptr<caf::scoped_actor> self_;
  /// Child name -> the node it answered from at start.
  std::map<std::string, std::string> hosts_;
};

} // namespace

TEST_F(NodeLoss, KillingANodeWithMoreChildrenThanMaxRestartsMovesThemAll) {
  ASSERT_NO_FATAL_FAILURE(start(max_restarts));
  auto moved = on("n3");
  ASSERT_GT(moved.size(), max_restarts);
  auto lost = client_->whereis_global(moved.front()).node();
  n3_->signal(SIGKILL);
  ASSERT_EQ(n3_->wait_exit(10s), 128 + SIGKILL);
  ASSERT_NO_FATAL_FAILURE(expect_moved(moved, lost, "n3"));
  expect_root_runs("n3");
}

TEST_F(NodeLoss, FreezingANodeWithMoreChildrenThanMaxRestartsMovesThemAll) {
  ASSERT_NO_FATAL_FAILURE(start(max_restarts));
  auto moved = on("n3");
  ASSERT_GT(moved.size(), max_restarts);
  auto lost = client_->whereis_global(moved.front()).node();
  auto n1_lines = n1_->line_count();
  auto n3_lines = n3_->line_count();
  n3_->signal(SIGSTOP);
  ASSERT_TRUE(n3_->wait_stopped());
  // n1 marks it down once it has been silent for the failure timeout.
  ASSERT_TRUE(n1_->wait_for_line("MEMBER n3 down", 10s, n1_lines))
    << n1_->output();
  ASSERT_NO_FATAL_FAILURE(expect_moved(moved, lost, "n3"));
  expect_root_runs("n3");
  // Resumed, n3 fences itself, stops its stale copies and rejoins; the
  // children stay where they moved, and n1 still runs.
  n1_lines = n1_->line_count();
  n3_->signal(SIGCONT);
  ASSERT_TRUE(n3_->wait_for_line("is fenced", 10s, n3_lines))
    << n3_->output();
  EXPECT_TRUE(n3_->wait_for_line("WORKERS n=0", 10s, n3_lines))
    << n3_->output();
  ASSERT_TRUE(n1_->wait_for_line("MEMBER n3 up", 10s, n1_lines))
    << n1_->output();
  for (auto& kvp : hosts_) {
    auto from = answer_from(kvp.first);
    EXPECT_TRUE(from == "n1" || from == "n2") << kvp.first << ": " << from;
  }
  expect_root_runs("n3");
}

TEST_F(NodeLoss, AGracefulLeaveMovesChildrenWithoutCountingRestarts) {
  // No restart allowed at all: only moves that do not count leave the
  // supervisor running.
  ASSERT_NO_FATAL_FAILURE(start(0));
  auto moved = on("n3");
  ASSERT_FALSE(moved.empty());
  auto lost = client_->whereis_global(moved.front()).node();
  auto n1_lines = n1_->line_count();
  n3_->signal(SIGTERM);
  ASSERT_EQ(n3_->wait_exit(10s), 0) << n3_->output();
  EXPECT_TRUE(n1_->wait_for_line("MEMBER n3 left", 10s, n1_lines))
    << n1_->output();
  ASSERT_NO_FATAL_FAILURE(expect_moved(moved, lost, "n3"));
  expect_root_runs("n3");
}

TEST_F(NodeLoss, ACrashLoopOfOneRemoteChildStillEscalates) {
  ASSERT_NO_FATAL_FAILURE(start(max_restarts, 1));
  auto name = worker(0);
  caf::actor previous;
  // max_restarts failures are restarted; the next one is one too many.
  for (size_t round = 0; round <= max_restarts; ++round) {
    SCOPED_TRACE("failure " + std::to_string(round + 1));
    ASSERT_TRUE(troupe::test::await_holder(
      *names_, *client_, name,
      [&](const caf::actor& hdl) { return hdl && hdl != previous; }, 10s))
      << n1_->output();
    previous = client_->whereis_global(name);
    troupe_test::Boom boom;
    boom.set_why("crash loop");
    (*self_)
      ->request(client_->ref(previous), 5s, boom)
      .receive([](const troupe_test::Pong&) { ADD_FAILURE() << "no throw"; },
               [&](caf::error& err) {
                 EXPECT_TRUE(has_error(err, troupe::errc::handler_failed))
                   << troupe::describe(err);
               });
  }
  ASSERT_TRUE(n1_->wait_for_line(root_failed, 10s)) << n1_->output();
  EXPECT_EQ(n1_->wait_exit(10s), 1) << n1_->output();
}

TEST_F(NodeLoss, TheSupervisingNodeStopsItsRemoteChildrenBeforeItLeaves) {
  // OTP's order: n1's tree stops top-down, then n1 leaves. Leaving first,
  // the others would stop what they host for it, and its supervisor would
  // try to restart those children on a node that no longer runs (and give
  // up, failing n1's exit; no restart is allowed here).
  ASSERT_NO_FATAL_FAILURE(start(0));
  auto from = std::map<child_process*, size_t>{
    {n2_.get(), n2_->line_count()}, {n3_.get(), n3_->line_count()}};
  n1_->signal(SIGTERM);
  EXPECT_EQ(n1_->wait_exit(15s), 0) << n1_->output();
  auto log = n1_->output();
  EXPECT_EQ(log.find(gives_up), std::string::npos) << log;
  EXPECT_EQ(log.find(root_failed), std::string::npos) << log;
  for (auto& [p, first] : from) {
    ASSERT_TRUE(p->wait_for_line("MEMBER n1 left", 10s, first))
      << p->output();
    auto lines = p->lines();
    size_t stopped = lines.size(), left = lines.size();
    for (size_t i = first; i < lines.size(); ++i) {
      if (lines[i] == "WORKERS n=0" && stopped == lines.size())
        stopped = i;
      if (lines[i].rfind("MEMBER n1 left", 0) == 0 && left == lines.size())
        left = i;
    }
    EXPECT_LT(stopped, left) << "its children were not stopped before n1 "
                                "left\n"
                             << p->output();
  }
}
