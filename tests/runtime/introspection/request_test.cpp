#include "introspection/request.hpp"

#include <string>

#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <gtest/gtest.h>

#include "troupe/error.hpp"
#include "troupe/wire/introspect.pb.h"
#include "troupe/wire/rejected_message.hpp"

using troupe::detail::check_kill_request;
using troupe::detail::refuse_introspect_request;

namespace {

troupe::wire::KillRequest kill(std::string path, std::string secret) {
  troupe::wire::KillRequest req;
  req.set_path(std::move(path));
  req.set_secret(std::move(secret));
  return req;
}

bool is(const caf::error& err, troupe::errc code) {
  return err.category() == troupe::error_category &&
         err.code() == static_cast<uint8_t>(code);
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
