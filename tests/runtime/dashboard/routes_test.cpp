// SPDX-License-Identifier: Apache-2.0
// The dashboard's routing rules on their own: paths that try to climb out
// of the page's files, methods, the token check, the embedded files.
#include "dashboard/routes.hpp"

#include <gtest/gtest.h>

#include "dashboard/assets.hpp"

using troupe::dashboard::auth_result;
using troupe::dashboard::check_token;
using troupe::dashboard::resolve;
using troupe::dashboard::route_kind;

TEST(DashboardRoutes, KnownPathsAndMethods) {
  EXPECT_EQ(resolve("GET", "/healthz").kind, route_kind::healthz);
  EXPECT_EQ(resolve("HEAD", "/readyz").kind, route_kind::readyz);
  EXPECT_EQ(resolve("GET", "/").kind, route_kind::asset);
  EXPECT_EQ(resolve("GET", "/app.js?v=1").kind, route_kind::asset);
  EXPECT_EQ(resolve("GET", "/api/cluster").kind, route_kind::cluster);
  EXPECT_EQ(resolve("GET", "/api/events").kind, route_kind::events);
  EXPECT_EQ(resolve("POST", "/api/kill").kind, route_kind::kill);
  EXPECT_EQ(resolve("GET", "/api/history").kind, route_kind::history);
  auto h = resolve("GET", "/api/history/actor/n1%3A%2Froot%2Fa");
  EXPECT_EQ(h.kind, route_kind::history);
  EXPECT_EQ(h.path, "/api/history/actor/n1:/root/a");
  EXPECT_EQ(resolve("POST", "/api/history").kind, route_kind::bad_method);
  EXPECT_EQ(resolve("GET", "/api/historyx").kind, route_kind::not_found);
  EXPECT_EQ(resolve("GET", "/api/history/actor/n1:/root/../x").kind,
            route_kind::bad_path);
  EXPECT_EQ(resolve("GET", "/nope").kind, route_kind::not_found);
  auto r = resolve("GET", "/api/kill");
  EXPECT_EQ(r.kind, route_kind::bad_method);
  EXPECT_EQ(r.allow, "POST");
  EXPECT_EQ(resolve("DELETE", "/").kind, route_kind::bad_method);
  EXPECT_EQ(resolve("BREW", "/healthz").kind, route_kind::bad_method);
}

TEST(DashboardRoutes, TraversalIsRefusedHoweverItIsEncoded) {
  for (auto target :
       {"/../etc/passwd", "/%2e%2e/etc/passwd", "/%2E%2E/%2e%2e/etc/passwd",
        "/a/../index.html", "/./index.html", "/..", "/%2e", "/a%2f..%2f..",
        "/..%5c..%5cwindows", "/a\\b", "/%00index.html", "/%zz", "/%2",
        "index.html", "http://evil/"})
    EXPECT_EQ(resolve("GET", target).kind, route_kind::bad_path) << target;
  // Dots inside a name are fine (and simply not found).
  EXPECT_EQ(resolve("GET", "/a..b").kind, route_kind::not_found);
}

TEST(DashboardRoutes, TokenCheck) {
  EXPECT_EQ(check_token("Bearer s3cret", ""), auth_result::disabled);
  EXPECT_EQ(check_token("", "s3cret"), auth_result::missing);
  EXPECT_EQ(check_token("Basic czNjcmV0", "s3cret"), auth_result::missing);
  EXPECT_EQ(check_token("Bearer s3cre", "s3cret"), auth_result::wrong);
  EXPECT_EQ(check_token("Bearer s3cret2", "s3cret"), auth_result::wrong);
  EXPECT_EQ(check_token("Bearer S3cret", "s3cret"), auth_result::wrong);
  EXPECT_EQ(check_token("Bearer s3cret", "s3cret"), auth_result::ok);
}

TEST(DashboardRoutes, ThePageIsBuiltIn) {
  auto index = troupe::dashboard::find_asset("/");
  ASSERT_TRUE(index);
  EXPECT_NE(index->body.find("<!DOCTYPE html>"), std::string_view::npos);
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  // Every script the page loads is built in.
  for (auto* name : {"/app.js", "/tree.js", "/actor.js", "/members.js",
                     "/main.js"}) {
    auto js = troupe::dashboard::find_asset(name);
    ASSERT_TRUE(js) << name;
    EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
    EXPECT_NE(index->body.find(std::string{"src=\""} + (name + 1) + "\""),
              std::string_view::npos)
      << name << " is not loaded by the page";
  }
  auto main = troupe::dashboard::find_asset("/main.js");
  EXPECT_NE(main->body.find("EventSource"), std::string_view::npos);
  EXPECT_FALSE(troupe::dashboard::find_asset("/missing.js"));
}
