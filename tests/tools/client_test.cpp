// SPDX-License-Identifier: Apache-2.0
#include "troupe/tool/client.hpp"

#include "troupe/error.hpp"
#include "troupe/log.hpp"
#include "troupe/node/node.hpp"
#include "troupe/supervision/supervisor.hpp"
#include "troupe/supervision/supervisor_handle.hpp"
#include "troupe/tool/error.hpp"
#include "troupe/tool/render.hpp"
#include "troupe/wire/proto.hpp"

#include "fixture.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>
#include <caf/system_messages.hpp>
#include <gtest/gtest.h>

#include <google/protobuf/util/message_differencer.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using namespace std::chrono_literals;

namespace troupe::tool::test {

// -- parsing ------------------------------------------------------------------

TEST(ParseEndpoint, SplitsHostAndPort) {
  auto ep = parse_endpoint("10.0.0.1:4001");
  ASSERT_TRUE(ep) << describe(ep.error());
  EXPECT_EQ(ep->host, "10.0.0.1");
  EXPECT_EQ(ep->port, 4001);
  auto named = parse_endpoint("node-a.local:80");
  ASSERT_TRUE(named);
  EXPECT_EQ(named->host, "node-a.local");
}

TEST(ParseEndpoint, RejectsMalformedAddressesAsUsageErrors) {
  for (auto text : {"", "localhost", ":4000", "host:", "host:0", "host:65536",
                    "host:-1", "host:80x"}) {
    auto ep = parse_endpoint(text);
    ASSERT_FALSE(ep) << text;
    EXPECT_EQ(exit_code(ep.error()), 2) << text;
    auto msg = describe(ep.error());
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_NE(msg.find("bad address: '" + std::string{text} + "'"),
              std::string::npos)
        << msg;
  }
  EXPECT_EQ(describe(parse_endpoint("host").error()),
            "bad address: 'host' is not of the form host:port (expected "
            "HOST:PORT, e.g. 127.0.0.1:4000)");
}

TEST(ParseActorPath, AcceptsAbsolutePathsOnly) {
  EXPECT_TRUE(parse_actor_path("/root"));
  EXPECT_TRUE(parse_actor_path("/root/workers/w1"));
  for (auto text : {"", "/", "root/w1", "/root/", "/root//w1"}) {
    auto path = parse_actor_path(text);
    ASSERT_FALSE(path) << text;
    EXPECT_EQ(exit_code(path.error()), 2) << text;
  }
  EXPECT_EQ(describe(parse_actor_path("root").error()),
            "bad actor path 'root': it must start with '/' (expected e.g. "
            "/root/workers/w1)");
}

// -- exit codes ---------------------------------------------------------------

TEST(ExitCode, IsTheToolErrcForTheToolsErrors) {
  EXPECT_EQ(exit_code(caf::error{}), 0);
  EXPECT_EQ(exit_code(make_error(tool_errc::failed, "x")), 1);
  EXPECT_EQ(exit_code(make_error(tool_errc::usage, "x")), 2);
  EXPECT_EQ(exit_code(make_error(tool_errc::unreachable, "x")), 3);
  EXPECT_EQ(exit_code(make_error(tool_errc::unknown_path, "x")), 4);
  EXPECT_EQ(describe(make_error(tool_errc::unreachable, "gone")), "gone");
}

TEST(ExitCode, MapsOtherErrorsByMeaning) {
  EXPECT_EQ(exit_code(troupe::make_error(errc::bad_config, "x")), 2);
  EXPECT_EQ(exit_code(troupe::make_error(errc::connect_failed, "x")), 3);
  EXPECT_EQ(exit_code(troupe::make_error(errc::node_down, "x")), 3);
  EXPECT_EQ(exit_code(caf::make_error(caf::sec::request_timeout)), 3);
  EXPECT_EQ(exit_code(caf::make_error(caf::sec::cannot_connect_to_node)), 3);
  EXPECT_EQ(exit_code(troupe::make_error(errc::handler_failed, "x")), 1);
  EXPECT_EQ(exit_code(troupe::make_error(errc::name_not_found, "x")), 1);
  EXPECT_EQ(exit_code(caf::make_error(caf::sec::unexpected_response)), 1);
}

// -- talking to a node --------------------------------------------------------
//
// A node in this process serves a stand-in for the runtime's introspection
// actor under its own name (so as not to clash with the real one).

namespace {

constexpr const char* service = "troupe.introspect.test";

struct fake_state {
  static inline const char* name = "fake.introspect";
};

// Answers with the fixture and knows one actor; `silent` never answers.
caf::behavior fake_introspect(troupe::stateful_actor<fake_state>* self,
                              bool silent) {
  auto held = std::make_shared<std::vector<caf::response_promise>>();
  return {
      [=](const wire::SnapshotRequest& req)
          -> caf::result<wire::ClusterSnapshot> {
        if (silent) {
          held->push_back(self->make_response_promise());
          return caf::delegated<wire::ClusterSnapshot>{};
        }
        auto snap = fixture_snapshot();
        if (!req.cluster())
          snap.mutable_nodes()->DeleteSubrange(1, 2);
        return snap;
      },
      [=](const wire::KillRequest& req) -> caf::result<wire::KillReply> {
        if (req.path() != "/root/workers/w1")
          return troupe::make_error(errc::name_not_found,
                                    "no actor at '" + req.path() + "'");
        if (req.secret() != "s3cret")
          return troupe::make_error(errc::bad_config, "wrong secret");
        wire::KillReply rep;
        rep.set_node("n1");
        rep.set_id(13);
        rep.set_mode(req.mode());
        rep.set_text(req.mode() == wire::KillRequest::THROW ? "threw"
                                                            : "exited");
        return rep;
      },
  };
}

class Client : public ::testing::Test {
protected:
  void SetUp() override {
    node_config cfg;
    cfg.name = "served";
    cfg.log = log_level::warn;
    cfg.shutdown_timeout = 500ms;
    server_ = std::make_unique<node>(cfg);
    server_->add_message_type<wire::SnapshotRequest>()
        .add_message_type<wire::ClusterSnapshot>()
        .add_message_type<wire::KillRequest>()
        .add_message_type<wire::KillReply>();
    ASSERT_FALSE(server_->start());
    ASSERT_FALSE(server_->register_name(
        service, server_->spawn(fake_introspect, false)));
    ASSERT_FALSE(server_->register_name("silent",
                                        server_->spawn(fake_introspect, true)));
    ep_ = endpoint{"127.0.0.1", server_->port()};
    opts_.service = service;
    opts_.timeout = 5s;
  }

  std::unique_ptr<node> server_;
  endpoint ep_;
  client_options opts_;
};

} // namespace

TEST_F(Client, FetchesTheSnapshotTheNodeServes) {
  // The client node shuts down cleanly (it once waited for its own blocking
  // actor and was abandoned after the shutdown timeout).
  std::mutex mtx; // the log may be written from any thread
  std::vector<std::string> complaints;
  set_log_observer([&](log_level lvl, std::string_view line) {
    std::lock_guard<std::mutex> guard{mtx};
    if (lvl >= log_level::warn)
      complaints.emplace_back(line);
  });
  auto snap = fetch_snapshot(ep_, opts_);
  set_log_observer({});
  EXPECT_TRUE(complaints.empty()) << complaints.front();
  ASSERT_TRUE(snap) << describe(snap.error());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      *snap, fixture_snapshot()));
  opts_.cluster = false;
  auto local = fetch_snapshot(ep_, opts_);
  ASSERT_TRUE(local) << describe(local.error());
  EXPECT_EQ(local->nodes_size(), 1);
}

TEST_F(Client, ANodeWithoutTheServiceIsAnErrorNotUnreachable) {
  opts_.service = "nobody.here";
  auto snap = fetch_snapshot(ep_, opts_);
  ASSERT_FALSE(snap);
  EXPECT_EQ(exit_code(snap.error()), 1);
  EXPECT_EQ(describe(snap.error()),
            "127.0.0.1:" + std::to_string(ep_.port) +
                " serves no 'nobody.here' (a troupe node without "
                "introspection?)");
}

TEST_F(Client, AClosedPortIsUnreachable) {
  auto port = ep_.port;
  server_.reset(); // frees the port
  auto snap = fetch_snapshot(endpoint{"127.0.0.1", port}, opts_);
  ASSERT_FALSE(snap);
  EXPECT_EQ(exit_code(snap.error()), 3) << describe(snap.error());
}

TEST_F(Client, ANodeThatDoesNotAnswerInTimeIsUnreachable) {
  opts_.service = "silent";
  opts_.timeout = 300ms;
  auto snap = fetch_snapshot(ep_, opts_);
  ASSERT_FALSE(snap);
  EXPECT_EQ(exit_code(snap.error()), 3);
  EXPECT_EQ(describe(snap.error()),
            "127.0.0.1:" + std::to_string(ep_.port) +
                " did not answer the snapshot request within 300ms");
}

TEST_F(Client, KillsAKnownPathAndReportsUnknownOnes) {
  auto rep = kill_actor(ep_, "/root/workers/w1", "s3cret",
                        wire::KillRequest::EXIT, opts_);
  ASSERT_TRUE(rep) << describe(rep.error());
  EXPECT_EQ(rep->node(), "n1");
  EXPECT_EQ(rep->id(), 13u);
  EXPECT_EQ(rep->text(), "exited");
  auto unknown =
      kill_actor(ep_, "/root/nobody", "s3cret", wire::KillRequest::EXIT, opts_);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(exit_code(unknown.error()), 4);
  EXPECT_EQ(describe(unknown.error()),
            "no actor at /root/nobody (the node says: no actor at "
            "'/root/nobody')");
  auto refused = kill_actor(ep_, "/root/workers/w1", "wrong",
                            wire::KillRequest::EXIT, opts_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(exit_code(refused.error()), 1) << describe(refused.error());
}

TEST_F(Client, SendsTheKillModeAndPrintsTheNodesWords) {
  auto rep = kill_actor(ep_, "/root/workers/w1", "s3cret",
                        wire::KillRequest::THROW, opts_);
  ASSERT_TRUE(rep) << describe(rep.error());
  EXPECT_EQ(rep->mode(), wire::KillRequest::THROW);
  EXPECT_EQ(kill_summary("/root/workers/w1", *rep, wire::KillRequest::THROW),
            "threw");
}

// -- kill modes ---------------------------------------------------------------

TEST(KillMode, ParsesExitAndThrowOnly) {
  EXPECT_EQ(*parse_kill_mode("exit"), wire::KillRequest::EXIT);
  EXPECT_EQ(*parse_kill_mode("throw"), wire::KillRequest::THROW);
  for (auto text : {"", "Exit", "kill", "throw "}) {
    auto mode = parse_kill_mode(text);
    ASSERT_FALSE(mode) << text;
    EXPECT_EQ(exit_code(mode.error()), 2) << text;
  }
  EXPECT_EQ(describe(parse_kill_mode("kill").error()),
            "bad kill mode 'kill' (expected exit or throw)");
}

TEST(KillSummary, SaysWhatAnOlderNodeDidWhenItSaysNothing) {
  // A node older than kill modes answers node and id only, and exits.
  wire::KillReply old;
  old.set_node("n2");
  old.set_id(42);
  EXPECT_EQ(kill_summary("/root/a", old, wire::KillRequest::EXIT),
            "killed /root/a (actor 42 on n2): exit; its supervisor respawns "
            "it from its spec (new address)");
  EXPECT_EQ(kill_summary("/root/a", old, wire::KillRequest::THROW),
            "killed /root/a (actor 42 on n2): exit; its supervisor respawns "
            "it from its spec (new address) (the node is older than kill "
            "modes: it only knows exit)");
  old.set_text("failed it\nsomehow");
  EXPECT_EQ(kill_summary("/root/a", old, wire::KillRequest::THROW),
            "failed it somehow");
}

// Against the runtime's own service, as the `troupe` command talks to it.
TEST(RealService, AnswersSnapshotsAndKills) {
  node_config cfg;
  cfg.name = "real";
  cfg.log = log_level::warn;
  cfg.shutdown_timeout = 500ms;
  node n{cfg};
  ASSERT_FALSE(n.start());
  child_spec w1;
  w1.id = "w1";
  w1.start = [](caf::actor_system& sys) {
    return troupe::spawn(sys, fake_introspect, false);
  };
  n.start_root({}, {w1});
  endpoint ep{"127.0.0.1", n.port()};
  auto snap = fetch_snapshot(ep);
  ASSERT_TRUE(snap) << describe(snap.error());
  EXPECT_EQ(snap->answered_by(), "real");
  auto tree = render_tree(*snap);
  EXPECT_NE(tree.find("  /root "), std::string::npos) << tree;
  EXPECT_NE(tree.find("  └─ w1 "), std::string::npos) << tree;
  auto rep = kill_actor(ep, "/root/w1", "", wire::KillRequest::EXIT);
  ASSERT_TRUE(rep) << describe(rep.error());
  EXPECT_EQ(rep->node(), "real");
  EXPECT_EQ(rep->mode(), wire::KillRequest::EXIT);
  auto unknown = kill_actor(ep, "/root/nobody", "", wire::KillRequest::EXIT);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(exit_code(unknown.error()), 4) << describe(unknown.error());
}

namespace {

// The snapshot's entry at `path`, or nullptr.
const wire::ActorInfo* find_actor(const wire::ClusterSnapshot& snap,
                                  const std::string& path) {
  for (auto& ns : snap.nodes())
    for (auto& a : ns.actors())
      if (a.path() == path)
        return &a;
  return nullptr;
}

// Asks for the node's snapshot until the actor at `path` counts `restarts`
// and runs (paced by the answers, a few at most: call it after an event
// that says the restart is under way); returns that entry, or nothing.
std::optional<wire::ActorInfo>
await_restarts(const endpoint& ep, const std::string& path, uint64_t restarts) {
  for (int i = 0; i < 100; ++i) {
    auto snap = fetch_snapshot(ep);
    if (snap)
      if (auto* a = find_actor(*snap, path);
          a != nullptr && a->restarts() == restarts &&
          a->status() == wire::ActorInfo::RUNNING)
        return *a;
  }
  return std::nullopt;
}

caf::behavior plain_actor() {
  return {[](int x) {
    return x;
  }};
}

} // namespace

// `kill --mode exit` respawns the child from its spec (a new actor);
// `--mode throw` has it restarted in place (the same actor). Either way the
// supervisor counts one restart and words the failure as "<cause>: <text>".
TEST(RealService, KillModesRespawnOrRestartInPlace) {
  node_config cfg;
  cfg.name = "modes";
  cfg.log = log_level::error;
  cfg.shutdown_timeout = 500ms;
  node n{cfg};
  ASSERT_FALSE(n.start());
  auto spec = [](std::string id) {
    child_spec s;
    s.id = std::move(id);
    s.start = [](caf::actor_system& sys) {
      return troupe::spawn(sys, fake_introspect, false);
    };
    return s;
  };
  child_spec plain;
  plain.id = "plain";
  plain.start = [](caf::actor_system& sys) {
    return sys.spawn(plain_actor);
  };
  auto root = n.start_root({}, {spec("ex"), spec("th"), plain});
  endpoint ep{"127.0.0.1", n.port()};
  auto kids = supervisor_handle{root}.which_children();
  ASSERT_TRUE(kids && kids->size() == 3u);
  caf::scoped_actor self{n.system()};
  self->monitor(kids->at(0).handle);
  auto before = fetch_snapshot(ep);
  ASSERT_TRUE(before) << describe(before.error());
  auto* ex = find_actor(*before, "/root/ex");
  auto* th = find_actor(*before, "/root/th");
  ASSERT_TRUE(ex != nullptr && th != nullptr) << render_tree(*before);
  auto ex_id = ex->id();
  auto th_id = th->id();

  auto exited = kill_actor(ep, "/root/ex", "", wire::KillRequest::EXIT);
  ASSERT_TRUE(exited) << describe(exited.error());
  EXPECT_EQ(exited->mode(), wire::KillRequest::EXIT);
  EXPECT_EQ(kill_summary("/root/ex", *exited, wire::KillRequest::EXIT),
            "killed /root/ex (actor " + std::to_string(ex_id) +
                " on modes): exit; its supervisor respawns it from its spec "
                "(new address)");
  self->receive([](const caf::down_msg&) {}); // the old "ex" is gone
  auto ex_after = await_restarts(ep, "/root/ex", 1);
  ASSERT_TRUE(ex_after) << "/root/ex was not respawned";
  EXPECT_NE(ex_after->id(), ex_id) << "exit mode respawns: a new actor";
  EXPECT_EQ(ex_after->last_failure(),
            "handler_failed: made to fail by 'troupe kill'");

  auto thrown = kill_actor(ep, "/root/th", "", wire::KillRequest::THROW);
  ASSERT_TRUE(thrown) << describe(thrown.error());
  EXPECT_EQ(thrown->mode(), wire::KillRequest::THROW);
  EXPECT_EQ(kill_summary("/root/th", *thrown, wire::KillRequest::THROW),
            "failed /root/th (actor " + std::to_string(th_id) +
                " on modes) as a handler throw would; its supervisor "
                "decides: restart in place (same address)");
  // "th" takes nothing else until its supervisor ordered the restart (or,
  // under the restart permit it gave ahead, until it restarted and told
  // it): this answer comes after it.
  self->request(kids->at(1).handle, 5s, wire::SnapshotRequest{})
      .receive([](const wire::ClusterSnapshot&) {},
               [](caf::error& err) { ADD_FAILURE() << describe(err); });
  auto th_after = await_restarts(ep, "/root/th", 1);
  ASSERT_TRUE(th_after) << "/root/th was not restarted";
  EXPECT_EQ(th_after->id(), th_id) << "throw mode restarts in place";
  EXPECT_EQ(th_after->last_failure().rfind("handler_failed: ", 0), 0u)
      << th_after->last_failure();
  EXPECT_NE(th_after->last_failure().find("made to fail by 'troupe kill'"),
            std::string::npos)
      << th_after->last_failure();

  // A plain CAF actor cannot fail as a handler throw would: refused, and
  // left alone.
  auto refused = kill_actor(ep, "/root/plain", "", wire::KillRequest::THROW);
  ASSERT_FALSE(refused);
  EXPECT_EQ(exit_code(refused.error()), 1);
  EXPECT_NE(describe(refused.error()).find("is not a troupe actor"),
            std::string::npos)
      << describe(refused.error());
  auto after = fetch_snapshot(ep);
  ASSERT_TRUE(after);
  ASSERT_NE(find_actor(*after, "/root/plain"), nullptr);
  EXPECT_EQ(find_actor(*after, "/root/plain")->restarts(), 0u);
}

} // namespace troupe::tool::test
