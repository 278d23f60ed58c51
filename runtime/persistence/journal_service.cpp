// SPDX-License-Identifier: Apache-2.0
// The group committer: a queue, one thread, one transaction per batch,
// replies after the commit.
#include "troupe/persistence/journal_service.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/make_message.hpp>
#include <caf/message_id.hpp>

#include <fmt/format.h>

#include "troupe/error.hpp"
#include "troupe/log.hpp"

namespace troupe::persistence {

using detail::job_kind;
using detail::journal_job;
using detail::journal_reply;
using clock_type = std::chrono::steady_clock;

namespace {

bool refusal(const caf::error& err) {
  return is(err, errc::writer_fenced) || is(err, errc::revision_conflict);
}

/// How often a batch that ran into a concurrent transaction runs again.
constexpr int max_conflict_retries = 5;

void store_max(std::atomic<uint64_t>& x, uint64_t v) {
  auto cur = x.load(std::memory_order_relaxed);
  while (v > cur && !x.compare_exchange_weak(cur, v))
    ; // retry
}

} // namespace

struct journal_service::impl {
  opener open;
  mode how;
  std::unique_ptr<journal> j;
  std::string kind_name;
  journal_figures figures;

  std::mutex mtx;
  std::condition_variable cv;
  std::vector<journal_job> queue;
  bool stopping = false;
  bool stopped = false;
  // In-caller mode: a thread is running batches (the others leave their
  // jobs to it).
  bool running = false;
  std::thread thread;

  // Reconnecting (touched only by the batch runner).
  bool broken = false;
  clock_type::time_point next_try{};
  std::chrono::milliseconds retry{0};
  static constexpr std::chrono::milliseconds retry_min{50};
  static constexpr std::chrono::milliseconds retry_max{1000};
  // How long a batch waits for a lost database to come back before it
  // fails (see `ride_out`).
  std::atomic<int64_t> outage_window_ms{10000};

  static void reply(journal_job& job, caf::error err, recovery rec = {}) {
    if (!job.reply_to)
      return;
    journal_reply r{job.tag, std::move(err), std::move(rec)};
    job.reply_to->enqueue(nullptr, caf::make_message_id(),
                          caf::make_message(journal_reply_atom::value,
                                            std::move(r)),
                          nullptr);
  }

  /// Re-opens the connection when the last batch broke it, at most once per
  /// back-off step; an error while it stays unreachable.
  caf::error ensure_open() {
    if (!broken)
      return {};
    auto now = clock_type::now();
    if (now < next_try)
      return make_error(errc::persistence_failed,
                        std::string{"journal ("} + kind_name
                          + ") unreachable, retrying");
    figures.reconnects.fetch_add(1, std::memory_order_relaxed);
    caf::error err = j ? j->reconnect() : caf::error{};
    if (!j || err) {
      auto fresh = open();
      if (fresh) {
        j = std::move(*fresh);
        err = caf::error{};
      } else {
        err = fresh.error();
      }
    }
    if (err) {
      retry = std::min(retry_max, retry.count() == 0 ? retry_min : retry * 2);
      next_try = now + retry;
      return err;
    }
    broken = false;
    retry = std::chrono::milliseconds{0};
    log(log_level::info, fmt::format("journal ({}) reconnected", kind_name));
    return {};
  }

  /// Runs one job inside the open transaction. A refusal is the job's
  /// answer; any other error spoils the batch.
  caf::error run(journal_job& job, recovery& rec, size_t& events) {
    switch (job.kind) {
      case job_kind::recover_events: {
        auto r = j->recover(job.pid);
        if (!r)
          return r.error();
        rec = std::move(*r);
        return {};
      }
      case job_kind::recover_state: {
        auto r = j->recover_state(job.pid);
        if (!r)
          return r.error();
        rec = std::move(*r);
        return {};
      }
      case job_kind::append:
        events += job.records.size();
        return j->append(job.pid, job.epoch, job.records);
      case job_kind::snapshot: {
        if (job.records.empty())
          return {};
        auto err = j->save_snapshot(job.pid, job.epoch, job.records.front(),
                                    job.keep);
        if (!err && job.delete_to > 0)
          err = j->delete_events(job.pid, job.delete_to);
        return err;
      }
      case job_kind::save_state:
        if (job.records.empty())
          return {};
        return j->save_state(job.pid, job.epoch, job.records.front());
      case job_kind::delete_state:
        return j->delete_state(job.pid, job.epoch);
    }
    return {};
  }

  void fail_all(std::vector<journal_job>& jobs, const caf::error& err) {
    figures.failures.fetch_add(jobs.size(), std::memory_order_relaxed);
    for (auto& job : jobs) {
      if (!job.reply_to)
        log(log_level::warn, fmt::format("journal: snapshot of '{}' not stored: {}",
            job.pid, describe(err)));
      reply(job, err);
    }
  }

  /// What one attempt at a batch produced.
  struct outcome {
    std::vector<caf::error> errs;
    std::vector<recovery> recs;
    size_t events = 0;
    uint64_t recovered = 0;
  };

  /// Runs `jobs` in one transaction and commits it. Returns the error that
  /// spoiled it (rolled back, nothing written), or none.
  caf::error attempt(std::vector<journal_job>& jobs, outcome& out) {
    out = outcome{};
    out.errs.resize(jobs.size());
    out.recs.resize(jobs.size());
    if (auto err = j->begin())
      return err;
    for (size_t i = 0; i < jobs.size(); ++i) {
      // A run of appends goes to the journal in one call (one round trip
      // to PostgreSQL).
      if (jobs[i].kind == job_kind::append) {
        auto end = i;
        std::vector<journal::append_request> reqs;
        while (end < jobs.size() && jobs[end].kind == job_kind::append) {
          reqs.push_back({&jobs[end].pid, jobs[end].epoch,
                          &jobs[end].records});
          ++end;
        }
        if (reqs.size() > 1) {
          auto res = j->append_all(reqs);
          for (size_t k = 0; k < reqs.size(); ++k) {
            if (res[k] && !refusal(res[k])) {
              j->rollback();
              return res[k];
            }
            if (!res[k])
              out.events += jobs[i + k].records.size();
            out.errs[i + k] = std::move(res[k]);
          }
          i = end - 1;
          continue;
        }
      }
      size_t n = 0;
      auto err = run(jobs[i], out.recs[i], n);
      if (err && !refusal(err)) {
        j->rollback();
        return err;
      }
      if (!err) {
        out.events += n;
        if (jobs[i].kind == job_kind::recover_events
            || jobs[i].kind == job_kind::recover_state)
          ++out.recovered;
      }
      out.errs[i] = std::move(err);
    }
    return j->commit();
  }

  /// Whether `err`, from the last attempt, came of a lost connection.
  bool lost(const caf::error& err) const {
    return err && !is(err, errc::transaction_conflict) && j
           && j->connection_lost();
  }

  /// A database that went away (a restart, a failover, a network cut)
  /// costs a batch a wait, not its jobs: it is run again once the journal
  /// reconnects, for up to `outage_window` from when it first failed. A
  /// rolled-back batch wrote nothing; one cut off in its commit may have
  /// written everything, and then its second run finds its sequence numbers
  /// taken and is refused (the actors recover what was written). Returns
  /// the last error, none once the batch went through.
  caf::error ride_out(std::vector<journal_job>& jobs, outcome& out,
                      caf::error err) {
    auto window = std::chrono::milliseconds{outage_window_ms.load()};
    auto deadline = clock_type::now() + window;
    log(log_level::warn,
        fmt::format("journal ({}): connection lost ({}); a batch of {} waits "
                    "up to {} ms for it to come back",
                    kind_name, describe(err), jobs.size(), window.count()));
    broken = true;
    while (err && clock_type::now() < deadline) {
      {
        // Sleeps until the next reconnect try; a node that stops wakes it.
        std::unique_lock<std::mutex> guard{mtx};
        if (cv.wait_until(guard, std::min(std::max(next_try, clock_type::now()
                                                     + retry_min),
                                          deadline),
                          [&] { return stopping; }))
          return err;
      }
      if (auto e = ensure_open()) {
        err = std::move(e);
        continue;
      }
      err = attempt(jobs, out);
      if (lost(err))
        broken = true;
      else
        break;
    }
    return err;
  }

  void run_batch(std::vector<journal_job>& jobs) {
    if (jobs.empty())
      return;
    auto start = clock_type::now();
    // Every batch touches its ids in one order (an id's own jobs keep
    // theirs), so two nodes' batches on one database rarely deadlock.
    std::stable_sort(jobs.begin(), jobs.end(),
                     [](const journal_job& x, const journal_job& y) {
                       return x.pid < y.pid;
                     });
    outcome out;
    auto err = ensure_open();
    bool away = static_cast<bool>(err);
    if (!away)
      err = attempt(jobs, out);
    // A deadlock or serialization failure wrote nothing: run it again.
    for (int tries = 1; err && is(err, errc::transaction_conflict)
                        && tries <= max_conflict_retries;
         ++tries) {
      log(log_level::warn,
          fmt::format("journal ({}): batch of {} ran into a concurrent "
                      "transaction ({}); running it again ({} of {})",
                      kind_name, jobs.size(), describe(err), tries,
                      max_conflict_retries));
      std::this_thread::sleep_for(std::chrono::milliseconds{5 * tries});
      err = attempt(jobs, out);
    }
    // A thread of the caller's (a scheduler thread) does not sit out an
    // outage: the batch fails, the next one reconnects first.
    if ((away || lost(err)) && how != mode::in_caller)
      err = ride_out(jobs, out, std::move(err));
    if (err) {
      broken = !is(err, errc::transaction_conflict);
      log(log_level::error, fmt::format("journal ({}): batch of {} rolled "
                                        "back: {}",
                                        kind_name, jobs.size(), describe(err)));
      fail_all(jobs, err);
      return;
    }
    auto ns = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now()
                                                           - start)
        .count());
    figures.events_written.fetch_add(out.events, std::memory_order_relaxed);
    figures.batches.fetch_add(1, std::memory_order_relaxed);
    figures.batch_jobs.fetch_add(jobs.size(), std::memory_order_relaxed);
    store_max(figures.batch_jobs_max, jobs.size());
    figures.write_ns_total.fetch_add(ns, std::memory_order_relaxed);
    store_max(figures.write_ns_max, ns);
    figures.recoveries.fetch_add(out.recovered, std::memory_order_relaxed);
    for (size_t i = 0; i < jobs.size(); ++i) {
      if (out.errs[i] && !jobs[i].reply_to)
        log(log_level::warn, fmt::format("journal: snapshot of '{}' refused: {}",
            jobs[i].pid, describe(out.errs[i])));
      reply(jobs[i], std::move(out.errs[i]), std::move(out.recs[i]));
    }
  }

  size_t take_and_run() {
    std::vector<journal_job> jobs;
    {
      std::lock_guard<std::mutex> guard{mtx};
      jobs.swap(queue);
    }
    auto n = jobs.size();
    run_batch(jobs);
    return n;
  }

  /// In-caller mode: runs batches in this thread until nothing waits.
  /// Whether the queue is empty and `running` is cleared are decided under
  /// one lock, so a job submitted meanwhile is never left behind.
  void run_in_caller() {
    for (;;) {
      std::vector<journal_job> jobs;
      {
        std::lock_guard<std::mutex> guard{mtx};
        if (queue.empty()) {
          running = false;
          cv.notify_all(); // a stop() waiting for the last batch
          return;
        }
        jobs.swap(queue);
      }
      run_batch(jobs);
    }
  }

  void loop() {
    for (;;) {
      std::vector<journal_job> jobs;
      {
        std::unique_lock<std::mutex> guard{mtx};
        cv.wait(guard, [&] { return stopping || !queue.empty(); });
        if (queue.empty() && stopping)
          return;
        jobs.swap(queue);
      }
      run_batch(jobs);
    }
  }
};

journal_service::journal_service(std::unique_ptr<impl> p)
  : impl_(std::move(p)) {
}

caf::expected<std::shared_ptr<journal_service>>
journal_service::start(opener open, mode m) {
  auto first = open();
  if (!first)
    return first.error();
  auto p = std::make_unique<impl>();
  p->open = std::move(open);
  if (m == mode::automatic)
    m = (*first)->waits() ? mode::threaded : mode::in_caller;
  p->how = m;
  p->j = std::move(*first);
  p->kind_name = p->j->kind();
  std::shared_ptr<journal_service> svc{new journal_service(std::move(p))};
  if (m == mode::threaded) {
    auto* raw = svc->impl_.get();
    raw->thread = std::thread{[raw] { raw->loop(); }};
  }
  return svc;
}

caf::expected<std::shared_ptr<journal_service>>
journal_service::start(const std::string& where, mode m) {
  return start([where] { return open_journal(where); }, m);
}

journal_service::~journal_service() {
  stop();
}

void journal_service::submit(journal_job job) {
  {
    std::unique_lock<std::mutex> guard{impl_->mtx};
    if (!impl_->stopping) {
      impl_->queue.push_back(std::move(job));
      if (impl_->how == mode::in_caller) {
        if (impl_->running)
          return; // the running thread takes it
        impl_->running = true;
        guard.unlock();
        impl_->run_in_caller();
        return;
      }
      if (impl_->queue.size() == 1)
        impl_->cv.notify_one();
      return;
    }
  }
  impl::reply(job, make_error(errc::persistence_failed,
                              "the journal service has stopped"));
}

size_t journal_service::run_pending() {
  return impl_->take_and_run();
}

void journal_service::set_outage_window(std::chrono::milliseconds window) {
  impl_->outage_window_ms.store(window.count());
}

void journal_service::stop() {
  {
    std::unique_lock<std::mutex> guard{impl_->mtx};
    if (impl_->stopped)
      return;
    impl_->stopping = true;
    impl_->stopped = true;
    // In-caller mode: the thread running a batch finishes it (and what is
    // queued) first; later jobs fail (stopping).
    impl_->cv.wait(guard, [this] { return !impl_->running; });
  }
  impl_->cv.notify_one();
  if (impl_->thread.joinable())
    impl_->thread.join();
  else
    impl_->take_and_run();
}

const journal_figures& journal_service::figures() const noexcept {
  return impl_->figures;
}

journal_service::mode journal_service::how() const noexcept {
  return impl_->how;
}

const char* journal_service::kind() const noexcept {
  return impl_->kind_name.c_str();
}

namespace {

std::mutex services_mtx;
std::map<const caf::actor_system*, std::shared_ptr<journal_service>> services;

} // namespace

void attach_journal_service(caf::actor_system& sys,
                            std::shared_ptr<journal_service> svc) {
  std::lock_guard<std::mutex> guard{services_mtx};
  if (svc)
    services[&sys] = std::move(svc);
  else
    services.erase(&sys);
}

std::shared_ptr<journal_service> journal_service_of(caf::actor_system& sys) {
  std::lock_guard<std::mutex> guard{services_mtx};
  auto i = services.find(&sys);
  return i != services.end() ? i->second : nullptr;
}

} // namespace troupe::persistence
