// SPDX-License-Identifier: Apache-2.0
// The journal service's modes: which one `automatic` picks, and the
// in-caller mode's batches from many threads, its stop and a lost
// connection.
#include "troupe/persistence/journal_service.hpp"

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/after.hpp>
#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>

#include "runtime/persistence/temp_dir.hpp"
#include "troupe/error.hpp"
#include "troupe/persistence/memory_journal.hpp"

namespace troupe::test {
namespace {

using namespace std::chrono_literals;
using namespace troupe::persistence;
using detail::job_kind;
using detail::journal_job;
using detail::journal_reply;
using mode = journal_service::mode;

std::shared_ptr<journal_service>
memory_service(std::shared_ptr<memory_store> st, mode m) {
  auto svc = journal_service::start(
      [st] {
        return caf::expected<std::unique_ptr<journal>>{make_memory_journal(st)};
      },
      m);
  EXPECT_TRUE(svc) << describe(svc.error());
  return svc ? *svc : nullptr;
}

journal_job job_of(job_kind kind, std::string pid, uint64_t epoch,
                   const caf::strong_actor_ptr& to, uint64_t tag,
                   uint64_t seq = 0) {
  journal_job job;
  job.kind = kind;
  job.pid = std::move(pid);
  job.epoch = epoch;
  job.reply_to = to;
  job.tag = tag;
  if (seq > 0)
    job.records.push_back(record{seq, "t", std::to_string(seq)});
  return job;
}

/// The next journal reply to `self`, or a reply whose error says none came.
journal_reply next_reply(caf::scoped_actor& self) {
  journal_reply out;
  out.err = make_error(errc::persistence_failed, "no reply within 5 s");
  self->receive(
      [&](journal_reply_atom, journal_reply& r) {
        out = r;
      },
      caf::after(5s) >> [] {});
  return out;
}

class JournalService : public testing::Test {
protected:
  caf::actor_system_config cfg_;
  caf::actor_system sys_{cfg_};
  std::shared_ptr<memory_store> store_ = std::make_shared<memory_store>();
};

} // namespace

TEST_F(JournalService, AutomaticRunsAJournalThatNeverWaitsInTheCaller) {
  auto mem = journal_service::start("memory:");
  ASSERT_TRUE(mem);
  EXPECT_EQ((*mem)->how(), mode::in_caller);
  temp_dir dir;
  auto sql = journal_service::start("sqlite:" + dir.file("j.db"));
  ASSERT_TRUE(sql) << describe(sql.error());
  EXPECT_EQ((*sql)->how(), mode::threaded);
  auto forced = journal_service::start("memory:", mode::threaded);
  ASSERT_TRUE(forced);
  EXPECT_EQ((*forced)->how(), mode::threaded);
}

TEST_F(JournalService, InCallerCommitsBeforeSubmitReturnsAndThenReplies) {
  auto svc = memory_service(store_, mode::in_caller);
  caf::scoped_actor self{sys_};
  svc->submit(job_of(job_kind::recover_events, "a|1", 0, self->ctrl(), 1));
  auto rec = next_reply(self);
  ASSERT_FALSE(rec.err) << describe(rec.err);
  EXPECT_EQ(rec.tag, 1u);
  svc->submit(
      job_of(job_kind::append, "a|1", rec.rec.epoch, self->ctrl(), 2, 1));
  EXPECT_EQ(store_->event_count("a|1"), 1u); // ran in this thread
  auto r = next_reply(self);
  EXPECT_FALSE(r.err) << describe(r.err);
  EXPECT_EQ(r.tag, 2u);
  EXPECT_EQ(svc->figures().events_written.load(), 1u);
}

TEST_F(JournalService, InCallerLosesNoJobOfManyThreadsAndKeepsEachIdsOrder) {
  auto svc = memory_service(store_, mode::in_caller);
  constexpr int threads = 8;
  constexpr uint64_t per_thread = 300;
  std::vector<std::thread> ts;
  std::vector<std::string> failures(threads);
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      caf::scoped_actor self{sys_};
      auto pid = "a|" + std::to_string(t);
      svc->submit(job_of(job_kind::recover_events, pid, 0, self->ctrl(), 0));
      auto rec = next_reply(self);
      if (rec.err) {
        failures[t] = describe(rec.err);
        return;
      }
      // Submitted without waiting: the appends must reach the journal in
      // this order (a gap or a reordering would be refused).
      for (uint64_t seq = 1; seq <= per_thread; ++seq)
        svc->submit(job_of(job_kind::append, pid, rec.rec.epoch, self->ctrl(),
                           seq, seq));
      for (uint64_t seq = 1; seq <= per_thread; ++seq) {
        auto r = next_reply(self);
        if (r.err || r.tag != seq) {
          failures[t] = "reply " + std::to_string(r.tag) + " for " +
                        std::to_string(seq) + ": " + describe(r.err);
          return;
        }
      }
    });
  for (auto& t : ts)
    t.join();
  for (int t = 0; t < threads; ++t) {
    EXPECT_EQ(failures[t], "") << "thread " << t;
    EXPECT_EQ(store_->event_count("a|" + std::to_string(t)), per_thread);
  }
  auto& f = svc->figures();
  EXPECT_EQ(f.events_written.load(), threads * per_thread);
  EXPECT_EQ(f.batch_jobs.load(), threads * (per_thread + 1));
}

TEST_F(JournalService, InCallerStopRunsWhatWaitsAndFailsLaterJobs) {
  auto svc = memory_service(store_, mode::in_caller);
  caf::scoped_actor self{sys_};
  svc->stop();
  svc->submit(job_of(job_kind::recover_events, "a|1", 0, self->ctrl(), 7));
  auto r = next_reply(self);
  EXPECT_TRUE(is(r.err, errc::persistence_failed)) << describe(r.err);
  EXPECT_NE(describe(r.err).find("stopped"), std::string::npos)
      << describe(r.err);
}

TEST_F(JournalService, InCallerFailsABatchAtOnceOnALostConnection) {
  // A threaded service would wait up to its outage window (10 s) in its
  // own thread; the caller's thread is an actor's and does not wait.
  auto svc = memory_service(store_, mode::in_caller);
  caf::scoped_actor self{sys_};
  svc->submit(job_of(job_kind::recover_events, "a|1", 0, self->ctrl(), 1));
  auto rec = next_reply(self);
  ASSERT_FALSE(rec.err) << describe(rec.err);
  store_->go_away(0); // back on the next reconnect
  // An hour: a caller that sat out the outage would hang the test until
  // ctest's TIMEOUT instead of failing the batch at once.
  svc->set_outage_window(std::chrono::hours{1});
  svc->submit(
      job_of(job_kind::append, "a|1", rec.rec.epoch, self->ctrl(), 2, 1));
  auto failed = next_reply(self);
  EXPECT_TRUE(failed.err);
  EXPECT_EQ(store_->event_count("a|1"), 0u);
  // The next batch reconnects first (no failed reconnect yet, so no
  // back-off) and goes through.
  svc->submit(
      job_of(job_kind::append, "a|1", rec.rec.epoch, self->ctrl(), 3, 1));
  auto again = next_reply(self);
  EXPECT_FALSE(again.err) << describe(again.err);
  EXPECT_EQ(store_->event_count("a|1"), 1u);
}

} // namespace troupe::test
