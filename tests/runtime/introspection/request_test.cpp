// SPDX-License-Identifier: Apache-2.0
#include "introspection/request.hpp"

#include <string>

#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <gtest/gtest.h>

#include "troupe/error.hpp"
#include "troupe/wire/introspect.pb.h"
#include "troupe/wire/rejected_message.hpp"

using troupe::detail::check_kill_request;
using troupe::detail::kill_text;
using troupe::detail::refuse_introspect_request;

namespace {

troupe::wire::KillRequest kill(std::string path, std::string secret) {
  troupe::wire::KillRequest req;
  req.set_path(std::move(path));
  req.set_secret(std::move(secret));
  return req;
}

} // namespace

TEST(IntrospectRequest, KillNeedsTheSecretWhenTheNodeHasOne) {
  EXPECT_FALSE(check_kill_request(kill("/root/a", ""), ""));
  EXPECT_FALSE(check_kill_request(kill("/root/a", "s3cret"), "s3cret"));
  auto err = check_kill_request(kill("/root/a", "s3cre"), "s3cret");
  EXPECT_TRUE(is(err, troupe::errc::bad_config));
  EXPECT_NE(troupe::describe(err).find("requires a secret"), std::string::npos);
  EXPECT_TRUE(check_kill_request(kill("/root/a", "s3cretX"), "s3cret"));
  EXPECT_TRUE(check_kill_request(kill("/root/a", ""), "s3cret"));
}

TEST(IntrospectRequest, KillNeedsAnActorPath) {
  EXPECT_TRUE(
      is(check_kill_request(kill("", ""), ""), troupe::errc::name_not_found));
  EXPECT_TRUE(is(check_kill_request(kill("root/a", ""), ""),
                 troupe::errc::name_not_found));
  auto long_path = "/" + std::string(troupe::detail::max_actor_path, 'a');
  auto err = check_kill_request(kill(long_path, ""), "");
  EXPECT_TRUE(is(err, troupe::errc::name_not_found));
  EXPECT_LT(troupe::describe(err).size(), 300u) << "the path is clipped";
}

TEST(IntrospectRequest, KillTakesExitThrowOrNoMode) {
  auto req = kill("/root/a", "");
  EXPECT_EQ(req.mode(), troupe::wire::KillRequest::EXIT)
      << "a client older than modes asks for an exit";
  req.set_mode(troupe::wire::KillRequest::THROW);
  EXPECT_FALSE(check_kill_request(req, ""));
  // Protobuf keeps enum values it does not know.
  req.set_mode(static_cast<troupe::wire::KillRequest::Mode>(7));
  auto err = check_kill_request(req, "");
  EXPECT_TRUE(is(err, troupe::errc::bad_config));
  EXPECT_NE(troupe::describe(err).find("unknown kill mode 7"),
            std::string::npos)
      << troupe::describe(err);
}

TEST(IntrospectRequest, KillTextSaysWhatWasDoneAndWhatFollows) {
  using troupe::restart_type;
  troupe::detail::kill_outcome x;
  x.path = "/root/a";
  x.node = "n2";
  x.id = 42;
  x.restart = restart_type::permanent;
  EXPECT_EQ(kill_text(x), "killed /root/a (actor 42 on n2): exit; its "
                          "supervisor respawns it from its spec (new address)");
  x.restart = restart_type::temporary;
  EXPECT_EQ(kill_text(x), "killed /root/a (actor 42 on n2): exit; it is a "
                          "temporary child: its supervisor does not restart "
                          "it");
  x.restart.reset();
  EXPECT_EQ(kill_text(x), "killed /root/a (actor 42 on n2): exit; its "
                          "supervisor respawns it from its spec (new "
                          "address) unless the child is temporary");
  x.thrown = true;
  EXPECT_EQ(kill_text(x), "failed /root/a (actor 42 on n2) as a handler "
                          "throw would; its supervisor decides: restart in "
                          "place (same address) unless the child is "
                          "temporary");
  x.restart = restart_type::transient;
  EXPECT_EQ(kill_text(x), "failed /root/a (actor 42 on n2) as a handler "
                          "throw would; its supervisor decides: restart in "
                          "place (same address)");
  x.restart = restart_type::temporary;
  EXPECT_EQ(kill_text(x), "failed /root/a (actor 42 on n2) as a handler "
                          "throw would; its supervisor decides: a temporary "
                          "child stays down");
  // A child on another node was spawned there by a factory: it cannot
  // restart in place.
  x.remote = true;
  x.restart = restart_type::permanent;
  EXPECT_EQ(kill_text(x), "failed /root/a (actor 42 on n2) as a handler "
                          "throw would; it runs on another node, where it "
                          "cannot restart in place: its supervisor respawns "
                          "it from its spec (new address)");
  x.remote = false;
  x.supervised = false;
  x.restart.reset();
  x.path = "/unsupervised/w-7";
  EXPECT_EQ(kill_text(x), "failed /unsupervised/w-7 (actor 42 on n2) as a "
                          "handler throw would; it has no supervisor: it "
                          "ends with the error");
  x.thrown = false;
  EXPECT_EQ(kill_text(x), "killed /unsupervised/w-7 (actor 42 on n2): exit; "
                          "it has no supervisor: nothing restarts it");
}

TEST(IntrospectRequest, AnythingElseIsRefusedWithWhy) {
  auto rejected = caf::make_message(
      troupe::wire::rejected_message{"x.Y", "unregistered type"});
  auto err = refuse_introspect_request(rejected.content());
  EXPECT_TRUE(is(err, troupe::errc::rejected_message));
  EXPECT_NE(troupe::describe(err).find("unregistered type"), std::string::npos);
  auto other = caf::make_message(std::string{"hello"}, 1);
  err = refuse_introspect_request(other.content());
  EXPECT_TRUE(is(err, troupe::errc::rejected_message));
  EXPECT_NE(troupe::describe(err).find("SnapshotRequest"), std::string::npos);
  EXPECT_EQ(troupe::describe(err).find("hello"), std::string::npos);
}
