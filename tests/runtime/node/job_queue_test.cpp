// SPDX-License-Identifier: Apache-2.0
// A worker's queue in troupe's scheduler (runtime/node/job_queue.hpp): the
// owner's end, a thief's half from the tail, and the lock-free emptiness
// hint the sleep handshake reads.
#include "node/job_queue.hpp"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace {

// Stand-ins: the queue only stores and returns the pointers.
std::vector<caf::resumable*> jobs(size_t n) {
  std::vector<caf::resumable*> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back(reinterpret_cast<caf::resumable*>(0x1000 + 16 * i));
  return out;
}

} // namespace

TEST(JobQueue, TheOwnerTakesInOrderAndAPrependedJobFirst) {
  troupe::detail::job_queue q;
  auto js = jobs(3);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.take_head(), nullptr);
  q.append(js[1]);
  q.append(js[2]);
  q.prepend(js[0]);
  EXPECT_FALSE(q.empty());
  EXPECT_EQ(q.take_head(), js[0]);
  EXPECT_EQ(q.take_head(), js[1]);
  EXPECT_EQ(q.take_head(), js[2]);
  EXPECT_TRUE(q.empty());
  q.append(js.data(), 0); // nothing
  EXPECT_TRUE(q.empty());
  q.append(js.data() + 1, 2); // a batch, in order
  EXPECT_EQ(q.take_head(), js[1]);
  EXPECT_EQ(q.take_head(), js[2]);
  EXPECT_TRUE(q.empty());
}

TEST(JobQueue, AThiefTakesHalfFromTheTailOldestFirstAtMostMax) {
  troupe::detail::job_queue q;
  auto js = jobs(10);
  for (auto j : js)
    q.append(j);
  caf::resumable* out[32];
  ASSERT_EQ(q.take_tail(out, 32), 5u); // half of 10
  for (size_t i = 0; i < 5; ++i)
    EXPECT_EQ(out[i], js[5 + i]);
  ASSERT_EQ(q.take_tail(out, 2), 2u); // capped by max
  EXPECT_EQ(out[0], js[3]);
  EXPECT_EQ(out[1], js[4]);
  EXPECT_EQ(q.take_head(), js[0]); // the owner's end is untouched
  ASSERT_EQ(q.take_tail(out, 32), 1u); // 2 left: half rounds up
  EXPECT_EQ(out[0], js[2]);
  ASSERT_EQ(q.take_tail(out, 32), 1u); // the last one
  EXPECT_EQ(out[0], js[1]);
  EXPECT_EQ(q.take_tail(out, 32), 0u);
  EXPECT_TRUE(q.empty());
}

TEST(JobQueue, EveryJobComesOutOnceUnderThieves) {
  troupe::detail::job_queue q;
  constexpr size_t n = 100'000;
  auto js = jobs(n);
  std::vector<std::vector<caf::resumable*>> got(3);
  std::atomic<bool> done{false};
  std::vector<std::thread> thieves;
  for (size_t t = 1; t < 3; ++t)
    thieves.emplace_back([&, t] {
      caf::resumable* out[32];
      while (!done.load() || !q.empty())
        for (size_t k = q.take_tail(out, 32), i = 0; i < k; ++i)
          got[t].push_back(out[i]);
    });
  for (auto j : js) {
    q.append(j);
    if (auto x = q.take_head())
      got[0].push_back(x);
  }
  done = true;
  for (auto& t : thieves)
    t.join();
  std::vector<caf::resumable*> all;
  for (auto& g : got)
    all.insert(all.end(), g.begin(), g.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, js);
}
