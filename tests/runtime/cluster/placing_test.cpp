// SPDX-License-Identifier: Apache-2.0
// Where a spawn goes (cluster/placing.hpp), on made-up members.
#include "cluster/placing.hpp"

#include <gtest/gtest.h>

using troupe::placement;
using troupe::cluster::choose_host;
using troupe::cluster::host_offer;

namespace {

host_offer node(std::string name, uint32_t load,
                std::vector<std::string> types = {"worker"}) {
  return {std::move(name), load, std::move(types)};
}

// Where `n` spawns of `how` go from n1 among n1..n3.
std::vector<std::string> spawns(placement how, size_t n,
                                std::vector<std::string> excluded = {}) {
  uint64_t turn = 0;
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back(choose_host("worker", how, node("n1", 5),
                              {node("n3", 1), node("n2", 9)}, excluded, turn));
  return out;
}

using names = std::vector<std::string>;

} // namespace

TEST(Placing, LocalIsThisNodeOrNone) {
  uint64_t turn = 0;
  EXPECT_EQ(choose_host("worker", placement::local, node("n1", 0),
                        {node("n2", 0)}, {}, turn),
            "n1");
  EXPECT_EQ(choose_host("worker", placement::local, node("n1", 0, {}),
                        {node("n2", 0)}, {}, turn),
            "");
}

TEST(Placing, RoundRobinTakesEveryMemberInNameOrder) {
  EXPECT_EQ(spawns(placement::round_robin, 4), (names{"n1", "n2", "n3", "n1"}));
}

TEST(Placing, SpreadLeavesThisNodeOutWhileOthersCanHost) {
  EXPECT_EQ(spawns(placement::spread, 3), (names{"n2", "n3", "n2"}));
  uint64_t turn = 0;
  EXPECT_EQ(choose_host("worker", placement::spread, node("n1", 0),
                        {node("n2", 0, {"other"})}, {}, turn),
            "n1");
}

TEST(Placing, LeastLoadedTakesTheFewestActorsTiesByName) {
  EXPECT_EQ(spawns(placement::least_loaded, 2), (names{"n3", "n3"}));
  uint64_t turn = 0;
  EXPECT_EQ(choose_host("worker", placement::least_loaded, node("n2", 3),
                        {node("n3", 3), node("n1", 3)}, {}, turn),
            "n1");
}

TEST(Placing, ExcludedMembersAndMembersWithoutTheTypeAreSkipped) {
  EXPECT_EQ(spawns(placement::round_robin, 3, {"n2"}),
            (names{"n1", "n3", "n1"}));
  uint64_t turn = 0;
  EXPECT_EQ(choose_host("worker", placement::round_robin, node("n1", 0, {}),
                        {node("n2", 0, {"other"}), node("n3", 0)}, {}, turn),
            "n3");
  EXPECT_EQ(choose_host("worker", placement::least_loaded, node("n1", 0),
                        {node("n2", 0)}, {"n1", "n2"}, turn),
            "");
}
