// SPDX-License-Identifier: Apache-2.0
// The worker pool on CAF's test_coordinator: nothing runs until the test
// says so, so every interleaving below is the same on every run.
#include "troupe/actors/pool.hpp"

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <gtest/gtest.h>

#include "runtime/deterministic.hpp"
#include "troupe/error.hpp"
#include "troupe_actors_test/numbers.pb.h"

using troupe_actors_test::Num;
namespace ta = troupe::actors;

namespace {

Num num(int64_t x) {
  Num result;
  result.set_value(x);
  return result;
}

std::vector<Num> nums(int64_t n) {
  std::vector<Num> result;
  for (int64_t i = 0; i < n; ++i)
    result.push_back(num(i));
  return result;
}

bool has_error(const caf::error& err, troupe::errc code) {
  return err.category() == troupe::error_category
         && err.code() == static_cast<uint8_t>(code);
}

struct Pool : ::testing::Test {
  troupe::test::deterministic ctx;
  caf::scoped_actor self{*ctx.sys};
  std::shared_ptr<ta::task_registry> tasks
    = std::make_shared<ta::task_registry>();
  // Calls of the flaky task; it throws on item 13 the first time only.
  std::shared_ptr<std::atomic<int>> flaky_calls
    = std::make_shared<std::atomic<int>>(0);
  ta::task<Num, Num> square = tasks->add<Num, Num>(
    "square", [](const Num& x) { return num(x.value() * x.value()); });
  ta::task<Num, Num> flaky = tasks->add<Num, Num>(
    "flaky", [calls = flaky_calls](const Num& x) {
      if (x.value() == 13 && (*calls)++ == 0)
        throw std::runtime_error("flaky on 13");
      return num(x.value() * x.value());
    });
  ta::task<Num, Num> broken = tasks->add<Num, Num>("broken", [](const Num& x) {
    if (x.value() == 3)
      throw std::runtime_error("cannot do 3");
    return x;
  });
  std::unique_ptr<ta::pool> pool;

  void make_pool(ta::pool_options opts) {
    pool = std::make_unique<ta::pool>(*ctx.sys, tasks, opts);
    ctx.run(); // workers up
  }

  void TearDown() override {
    pool.reset();
    ctx.run();
  }

  template <class T, class... Ts>
  caf::expected<T> ask(Ts&&... xs) {
    caf::expected<T> result = caf::make_error(caf::sec::request_timeout);
    auto rh = self->request(pool->handle(), caf::infinite,
                            std::forward<Ts>(xs)...);
    ctx.run();
    rh.receive([&](T& x) { result = std::move(x); },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  caf::expected<std::vector<Num>> map(const ta::task<Num, Num>& t,
                                      std::vector<Num> xs,
                                      size_t chunksize) {
    ta::map_options mo;
    mo.chunksize = chunksize;
    auto fut = pool->map_async(t, std::move(xs), mo);
    ctx.run();
    EXPECT_EQ(fut.wait_for(std::chrono::seconds{0}),
              std::future_status::ready);
    try {
      return fut.get();
    } catch (const ta::pool_error& e) {
      return e.error();
    }
  }

  ta::pool_stats stats() {
    auto s = ask<ta::pool_stats>(ta::pool_stats_atom::value);
    EXPECT_TRUE(s);
    return s ? *s : ta::pool_stats{};
  }
};

void expect_squares(const caf::expected<std::vector<Num>>& xs, int64_t n) {
  ASSERT_TRUE(xs) << troupe::describe(xs.error());
  ASSERT_EQ(xs->size(), static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    EXPECT_EQ((*xs)[i].value(), i * i) << "at " << i;
}

ta::pool_options workers(size_t n) {
  ta::pool_options opts;
  opts.workers = n;
  return opts;
}

} // namespace

TEST_F(Pool, MapGathersResultsInInputOrder) {
  make_pool(workers(4));
  expect_squares(map(square, nums(100), 7), 100);
  auto s = stats();
  EXPECT_EQ(s.chunks_done, 15u); // ceil(100 / 7)
  EXPECT_EQ(s.items_done, 100u);
  EXPECT_EQ(s.maps_done, 1u);
  EXPECT_EQ(s.workers, 4u);
  EXPECT_EQ(s.retries, 0u);
}

TEST_F(Pool, ChunksizeOneAndLargerThanTheInputGiveTheSameResults) {
  make_pool(workers(3));
  expect_squares(map(square, nums(50), 1), 50);
  expect_squares(map(square, nums(50), 1000), 50);
  EXPECT_EQ(stats().chunks_done, 51u);
}

TEST_F(Pool, AnEmptyMapAnswersAtOnce) {
  make_pool(workers(2));
  auto xs = map(square, {}, 1);
  ASSERT_TRUE(xs);
  EXPECT_TRUE(xs->empty());
}

TEST_F(Pool, ChunksizeZeroIsRefusedWithAClearError) {
  make_pool(workers(2));
  auto xs = map(square, nums(3), 0);
  ASSERT_FALSE(xs);
  EXPECT_TRUE(has_error(xs.error(), troupe::errc::bad_config));
  EXPECT_NE(troupe::describe(xs.error()).find("chunksize"), std::string::npos);
}

TEST_F(Pool, PlacementWithoutANodeIsRefused) {
  ta::pool_options opts;
  opts.placement = troupe::placement::spread;
  EXPECT_THROW(ta::pool(*ctx.sys, tasks, opts), std::invalid_argument);
}

TEST_F(Pool, TaskNamesAreUnique) {
  auto again = [&] {
    tasks->add<Num, Num>("square", [](const Num& x) { return x; });
  };
  EXPECT_THROW(again(), std::invalid_argument);
  EXPECT_EQ(tasks->signature("square"),
            "troupe_actors_test.Num -> troupe_actors_test.Num");
}

TEST_F(Pool, AChunkWhoseTaskThrewIsRetried) {
  make_pool(workers(2));
  expect_squares(map(flaky, nums(20), 1), 20);
  auto s = stats();
  EXPECT_EQ(*flaky_calls, 2); // failed once, then succeeded
  EXPECT_EQ(s.retries, 1u);
  EXPECT_EQ(s.maps_done, 1u);
}

TEST_F(Pool, AChunkThatKeepsFailingFailsTheMapWithItsError) {
  auto opts = workers(2);
  opts.max_retries = 2;
  make_pool(opts);
  auto xs = map(broken, nums(6), 1);
  ASSERT_FALSE(xs);
  EXPECT_TRUE(has_error(xs.error(), troupe::errc::handler_failed))
    << troupe::describe(xs.error());
  auto text = troupe::describe(xs.error());
  EXPECT_NE(text.find("task 'broken' failed on items [3, 4) 3 times"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("cannot do 3"), std::string::npos) << text;
  auto s = stats();
  EXPECT_EQ(s.retries, 2u);
  EXPECT_EQ(s.maps_failed, 1u);
  // The pool keeps serving after a failed map.
  expect_squares(map(square, nums(10), 3), 10);
}

TEST_F(Pool, AWorkerKilledWithChunksInFlightIsReplacedAndTheChunksRetried) {
  auto opts = workers(2);
  opts.prefetch = 3;
  make_pool(opts);
  auto before = ask<std::vector<caf::actor>>(ta::workers_atom::value);
  ASSERT_TRUE(before);
  ASSERT_EQ(before->size(), 2u);
  auto victim = before->front();
  auto fut = pool->map_async(square, nums(12));
  // Only the pool runs: it hands 3 chunks to each worker, which have not
  // run yet when the first is killed.
  ctx.sched->prioritize(pool->handle());
  ctx.sched->run_once();
  caf::anon_send_exit(victim, caf::exit_reason::kill);
  ctx.run();
  ASSERT_EQ(fut.wait_for(std::chrono::seconds{0}), std::future_status::ready);
  std::vector<Num> xs;
  ASSERT_NO_THROW(xs = fut.get());
  expect_squares(xs, 12);
  auto s = stats();
  EXPECT_EQ(s.worker_failures, 1u);
  EXPECT_EQ(s.retries, 3u); // the three chunks the victim held
  EXPECT_EQ(s.workers, 2u); // its supervisor started a new one
  auto after = ask<std::vector<caf::actor>>(ta::workers_atom::value);
  ASSERT_TRUE(after);
  EXPECT_EQ(std::count(after->begin(), after->end(), victim), 0);
}

TEST_F(Pool, MaxTasksPerWorkerReplacesWorkers) {
  auto opts = workers(1);
  opts.max_tasks_per_worker = 3;
  opts.prefetch = 1;
  make_pool(opts);
  auto first = ask<std::vector<caf::actor>>(ta::workers_atom::value);
  ASSERT_TRUE(first);
  expect_squares(map(square, nums(10), 1), 10);
  auto s = stats();
  EXPECT_EQ(s.recycled, 3u); // after chunks 3, 6 and 9
  EXPECT_EQ(s.worker_failures, 0u);
  EXPECT_EQ(s.workers, 1u);
  auto now = ask<std::vector<caf::actor>>(ta::workers_atom::value);
  ASSERT_TRUE(now);
  ASSERT_EQ(now->size(), 1u);
  EXPECT_NE(now->front(), first->front());
}

TEST_F(Pool, AnActorGetsTheResultsThroughARequest) {
  make_pool(workers(3));
  auto xs = ask<std::vector<Num>>(ta::pool::map_request(square, nums(30)));
  expect_squares(xs, 30);
}

TEST_F(Pool, AnActorGetsTheErrorOfAFailedMap) {
  make_pool(workers(1));
  auto xs = ask<std::vector<Num>>(ta::pool::map_request(broken, nums(5)));
  ASSERT_FALSE(xs);
  EXPECT_TRUE(has_error(xs.error(), troupe::errc::handler_failed));
}

TEST_F(Pool, ProgressIsReportedPerChunkUpToTheTotal) {
  make_pool(workers(2));
  std::vector<size_t> seen;
  ta::map_options mo;
  mo.chunksize = 4;
  mo.progress = [&](size_t done, size_t total) {
    EXPECT_EQ(total, 10u);
    seen.push_back(done);
  };
  auto fut = pool->map_async(square, nums(10), mo);
  ctx.run();
  expect_squares(fut.get(), 10);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(seen.back(), 10u);
}

TEST_F(Pool, MapsRunningAtOnceKeepTheirOwnResults) {
  make_pool(workers(3));
  auto cube = tasks->add<Num, Num>("cube", [](const Num& x) {
    return num(x.value() * x.value() * x.value());
  });
  auto a = pool->map_async(square, nums(40), {5, {}});
  auto b = pool->map_async(cube, nums(30), {2, {}});
  ctx.run();
  expect_squares(a.get(), 40);
  auto cubes = b.get();
  ASSERT_EQ(cubes.size(), 30u);
  for (int64_t i = 0; i < 30; ++i)
    EXPECT_EQ(cubes[i].value(), i * i * i);
}

TEST_F(Pool, WhenItsSupervisorGivesUpPendingMapsFail) {
  auto opts = workers(1);
  opts.max_retries = 10;
  opts.supervision.max_restarts = 1;
  make_pool(opts);
  auto xs = map(broken, nums(5), 1);
  ASSERT_FALSE(xs);
  EXPECT_TRUE(has_error(xs.error(), troupe::errc::escalated))
    << troupe::describe(xs.error());
}
