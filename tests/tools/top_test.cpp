// SPDX-License-Identifier: Apache-2.0
// `troupe top`'s view of a snapshot: rows, order, header, keys. The screen
// itself is driven in a real terminal by top_tmux_test.cpp.
#include "troupe/tool/top.hpp"

#include "fixture.hpp"
#include "golden.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace troupe::tool::test {

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The screen as one text, as the golden files keep it.
std::string text_of(const top_screen& s) {
  auto out = s.header + "\n" + s.columns + "\n";
  for (auto& row : s.rows)
    out += row + "\n";
  return out;
}

// "node path" of each row, in order.
std::vector<std::string> order(const std::vector<top_row>& rows) {
  std::vector<std::string> out;
  for (auto& r : rows)
    out.push_back(r.node + " " + r.path);
  return out;
}

} // namespace

TEST(RenderTop, MatchesGoldenSortedByMailbox) {
  expect_golden("top_mailbox.txt",
                text_of(render_top(fixture_snapshot(), top_sort::mailbox)));
}

TEST(RenderTop, MatchesGoldenSortedByRate) {
  expect_golden("top_rate.txt",
                text_of(render_top(fixture_snapshot(), top_sort::rate)));
}

TEST(TopRows, SortsByMailboxThenRateThenNodeAndPath) {
  EXPECT_EQ(order(top_rows(fixture_snapshot(), top_sort::mailbox)),
            (std::vector<std::string>{
                "n1 /root/workers/w2",       // 17 waiting
                "n1 /root/workers/w1",       // 3
                "n2 /root/remote/r1",        // 1
                "n2 /root/http",             // 0 waiting, 950.4/s
                "n2 /unsupervised/cache-23", // 1.5/s
                "n1 /root",
                "n1 /root/logger",
                "n1 /root/remote",
                "n1 /root/workers",
                "n2 /root",
            }));
}

TEST(TopRows, SortsByRateThenMailboxThenNodeAndPath) {
  EXPECT_EQ(order(top_rows(fixture_snapshot(), top_sort::rate)),
            (std::vector<std::string>{
                "n2 /root/http",       // 950.4/s
                "n1 /root/workers/w1", // 120.5/s
                "n2 /root/remote/r1",  // 42.0/s
                "n2 /unsupervised/cache-23",
                "n1 /root/workers/w2", // 0/s, 17 waiting
                "n1 /root",
                "n1 /root/logger",
                "n1 /root/remote",
                "n1 /root/workers",
                "n2 /root",
            }));
}

TEST(TopRows, KeepsEveryFigureOfTheActor) {
  auto rows = top_rows(fixture_snapshot(), top_sort::mailbox);
  ASSERT_FALSE(rows.empty());
  auto& w2 = rows[0];
  EXPECT_EQ(w2.path, "/root/workers/w2");
  EXPECT_EQ(w2.type, "counter");
  EXPECT_EQ(w2.status, wire::ActorInfo::RESTARTING);
  EXPECT_EQ(w2.restarts, 3u);
  EXPECT_EQ(w2.mailbox, 17u);
  EXPECT_EQ(w2.msgs_per_sec, 0.0);
  // n1 lists its remote child; the row says where it runs.
  auto r1 = std::find_if(rows.begin(), rows.end(), [](const top_row& r) {
    return r.path == "/root/remote/r1";
  });
  ASSERT_NE(r1, rows.end());
  EXPECT_EQ(r1->node, "n2");
  EXPECT_EQ(r1->restarts, 1u);
}

TEST(TopRows, DoNotDependOnTheSnapshotsOrder) {
  auto snap = fixture_snapshot();
  auto reversed = snap;
  std::reverse(reversed.mutable_nodes()->begin(),
               reversed.mutable_nodes()->end());
  for (auto& ns : *reversed.mutable_nodes())
    std::reverse(ns.mutable_actors()->begin(), ns.mutable_actors()->end());
  for (auto by : {top_sort::mailbox, top_sort::rate})
    EXPECT_EQ(text_of(render_top(snap, by)), text_of(render_top(reversed, by)));
}

TEST(TopRows, PutAnActorWithoutANodeOnTheNodeThatListsIt) {
  wire::ClusterSnapshot snap;
  auto* ns = snap.add_nodes();
  ns->mutable_member()->set_name("a");
  ns->set_reachable(true);
  ns->add_actors()->set_path("/x");
  auto rows = top_rows(snap, top_sort::mailbox);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].node, "a");
}

TEST(RenderTop, HeaderNamesTheClusterItsUnreachableNodesAndTheSort) {
  auto snap = fixture_snapshot();
  EXPECT_EQ(render_top(snap, top_sort::mailbox).header,
            "cluster via n1: 3 nodes, 1 unreachable (n3), 10 actors  "
            "sort: mailbox");
  EXPECT_TRUE(
      contains(render_top(snap, top_sort::rate).header, "  sort: rate"));
  snap.mutable_nodes(0)->set_reachable(false); // n2
  EXPECT_TRUE(contains(render_top(snap, top_sort::rate).header,
                       "2 unreachable (n2, n3)"));
  wire::ClusterSnapshot empty;
  EXPECT_EQ(render_top(empty, top_sort::rate).header,
            "cluster via ?: 0 nodes, 0 unreachable, 0 actors  sort: rate");
  EXPECT_TRUE(render_top(empty, top_sort::rate).rows.empty());
}

TEST(RenderTop, AlignsTheColumns) {
  auto s = render_top(fixture_snapshot(), top_sort::mailbox);
  ASSERT_EQ(s.rows.size(), 10u);
  // The last column is right-aligned: every line ends at the same place.
  for (auto& row : s.rows)
    EXPECT_EQ(row.size(), s.columns.size()) << row;
  EXPECT_EQ(s.columns.substr(s.columns.size() - 6), "MSGS/S");
  EXPECT_EQ(s.rows[0].substr(s.rows[0].size() - 3), "0.0");
}

TEST(RenderTop, KeepsControlCharactersOffTheScreen) {
  wire::ClusterSnapshot snap;
  snap.set_answered_by("a\nb");
  auto* ns = snap.add_nodes();
  ns->mutable_member()->set_name("a\nb");
  ns->set_reachable(true);
  auto* x = ns->add_actors();
  x->set_path("/x\033[2J");
  x->set_type("t\ty");
  auto s = render_top(snap, top_sort::mailbox);
  for (auto& line : {s.header, s.columns, s.rows.at(0)})
    EXPECT_TRUE(std::none_of(line.begin(), line.end(), [](char ch) {
      return static_cast<unsigned char>(ch) < 0x20;
    })) << line;
}

TEST(TopKey, MapsTheKeys) {
  EXPECT_EQ(top_key('m'), top_action::sort_by_mailbox);
  EXPECT_EQ(top_key('M'), top_action::sort_by_mailbox);
  EXPECT_EQ(top_key('r'), top_action::sort_by_rate);
  EXPECT_EQ(top_key('R'), top_action::sort_by_rate);
  EXPECT_EQ(top_key('q'), top_action::quit);
  EXPECT_EQ(top_key('Q'), top_action::quit);
  EXPECT_EQ(top_key(3), top_action::quit); // Ctrl-C read as a key
  EXPECT_EQ(top_key('x'), top_action::none);
  EXPECT_EQ(top_key(-1), top_action::none);    // curses' ERR: no key
  EXPECT_EQ(top_key(0x19A), top_action::none); // curses' KEY_RESIZE
}

TEST(TopStatus, ShowsTheKeysOrWhyTheRefreshFailed) {
  EXPECT_EQ(top_status(""), "m sort by mailbox  r sort by rate  q quit");
  auto failed = top_status("no answer\nwithin 10s");
  EXPECT_EQ(failed, "refresh failed: no answer within 10s  (retrying; q quit)");
}

} // namespace troupe::tool::test
