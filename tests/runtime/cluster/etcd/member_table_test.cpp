// SPDX-License-Identifier: Apache-2.0
// Member records and the events between two views of them.
#include "cluster/etcd/member_table.hpp"

#include <gtest/gtest.h>

using namespace troupe::cluster::etcd;

namespace {

member_record rec(std::string name, uint64_t inc, uint16_t port = 4000) {
  return member_record{std::move(name), inc, "127.0.0.1", port};
}

std::string text(const std::vector<member_event>& xs) {
  std::string out;
  for (auto& x : xs)
    out += std::string{to_string(x.type)} + " " + x.member.name + "#" +
           std::to_string(x.member.incarnation) + ";";
  return out;
}

} // namespace

TEST(EtcdMemberRecord, RoundTripsThroughJson) {
  auto x = rec("node-1", 18446744073709551615u, 65535);
  auto back = parse_member_record(to_json(x));
  ASSERT_TRUE(back) << back.err().message;
  EXPECT_EQ(*back, x);
}

TEST(EtcdMemberRecord, MalformedRecordsAreErrors) {
  for (auto bad : {"", "[]", "{", R"({"name":"a"})",
                   R"({"name":"a","incarnation":-1,"host":"h","port":1})",
                   R"({"name":"a","incarnation":1,"host":"h","port":70000})",
                   R"({"name":1,"incarnation":1,"host":"h","port":1})"}) {
    auto res = parse_member_record(bad);
    ASSERT_FALSE(res) << bad;
    EXPECT_EQ(res.err().code, errc::bad_response);
    EXPECT_NE(res.err().message.find("malformed member record"),
              std::string::npos);
  }
}

TEST(EtcdMemberRecord, KeysLiveUnderTheClusterPrefix) {
  EXPECT_EQ(members_prefix("c1"), "/troupe/c1/members/");
  EXPECT_EQ(member_key_of("c1", "n"), "/troupe/c1/members/n");
  EXPECT_TRUE(check_key_part("member name", "node-1"));
  EXPECT_FALSE(check_key_part("member name", ""));
  EXPECT_FALSE(check_key_part("member name", "a/b"));
  EXPECT_FALSE(check_key_part("member name", "a\nb"));
}

TEST(EtcdMemberTable, ResetReportsTheDifferenceToTheLastView) {
  member_table t;
  EXPECT_EQ(text(t.reset({rec("a", 1), rec("b", 1), rec("c", 1)})),
            "joined a#1;joined b#1;joined c#1;");
  // b left, c came back as a new incarnation, a moved, d joined.
  EXPECT_EQ(text(t.reset({rec("a", 1, 4001), rec("c", 2), rec("d", 1)})),
            "updated a#1;left b#1;left c#1;joined c#2;joined d#1;");
  EXPECT_EQ(text(t.reset({rec("a", 1, 4001), rec("c", 2), rec("d", 1)})), "");
  EXPECT_EQ(t.size(), 3u);
}

TEST(EtcdMemberTable, PutsAndRemovesGiveOneChangeEach) {
  member_table t;
  EXPECT_EQ(text(t.put(rec("a", 1))), "joined a#1;");
  EXPECT_EQ(text(t.put(rec("a", 1))), "");
  EXPECT_EQ(text(t.put(rec("a", 1, 5000))), "updated a#1;");
  EXPECT_EQ(text(t.put(rec("a", 2))), "left a#1;joined a#2;");
  EXPECT_EQ(text(t.remove("b")), "");
  EXPECT_EQ(text(t.remove("a")), "left a#2;");
  EXPECT_EQ(t.size(), 0u);
}
