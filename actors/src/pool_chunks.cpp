// SPDX-License-Identifier: Apache-2.0
// The pool actor's chunks: maps cut into chunks, handed out to workers
// round robin with `prefetch` in flight each, answers taken in, failed
// chunks retried on another node where one exists (pool_state.hpp).
#include "pool_state.hpp"

#include <algorithm>

#include "troupe/error.hpp"
#include "troupe/wire/proto.hpp"
#include "worker.hpp"

#include "troupe/actors/pool.pb.h"

namespace troupe::actors::detail::pool_impl {

namespace {

template <class T, class U>
bool contains(const std::vector<T>& xs, const U& x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

/// Rebuilds `err` with `text` as its context, keeping code and category so
/// that callers can still tell a task's exception from a lost node.
caf::error with_context(const caf::error& err, std::string text) {
  if (!err)
    return make_error(errc::handler_failed, std::move(text));
  return caf::error{err.code(), err.category(),
                    caf::make_message(std::move(text))};
}

} // namespace

void deliver(job_entry& je, const caf::error& err) {
  if (je.rp.pending()) {
    if (err)
      je.rp.deliver(err);
    else
      je.rp.deliver(je.job->result_message());
  } else {
    je.job->finish(err);
  }
}

void pool_state::fail_all(const caf::error& err) {
  for (auto& je : jobs)
    if (!je->over) {
      je->over = true;
      ++stats.maps_failed;
      deliver(*je, err);
    }
  jobs.clear();
  retries.clear();
  flights.clear();
}

namespace {

void finish_job(pool_actor* self, job_entry& je, const caf::error& err) {
  auto& st = self->state;
  je.over = true;
  if (err)
    ++st.stats.maps_failed;
  else
    ++st.stats.maps_done;
  deliver(je, err);
  auto& jobs = st.jobs;
  jobs.erase(std::remove_if(jobs.begin(), jobs.end(),
                            [](const job_entry_ptr& x) { return x->over; }),
             jobs.end());
}

} // namespace

worker_entry* find_worker(pool_actor* self, const caf::actor_addr& addr) {
  for (auto& w : self->state.workers)
    if (w.hdl.address() == addr)
      return &w;
  return nullptr;
}

namespace {

/// How good `w` is for a chunk that failed before: 0 on a node where it
/// did not fail, 1 another worker on such a node, 2 a worker it failed on.
int tier(const chunk& c, const worker_entry& w) {
  if (c.failures == 0 || !contains(c.failed_nodes, w.hdl.node()))
    return 0;
  return contains(c.failed_workers, w.hdl.address()) ? 2 : 1;
}

std::optional<chunk> next_chunk(pool_actor* self, const worker_entry& w) {
  auto& st = self->state;
  for (auto i = st.retries.begin(); i != st.retries.end();) {
    if (i->je->over) {
      i = st.retries.erase(i);
      continue;
    }
    // A retry waits for a worker elsewhere when one exists, even if busy,
    // or when a node where it did not fail lost its last worker a moment
    // ago (a new one may come up there).
    int best = 2;
    for (auto& other : st.workers)
      if (!other.retiring)
        best = std::min(best, tier(*i, other));
    if (best > 0) {
      auto now = self->clock().now();
      for (auto& kvp : st.node_lost)
        if (now - kvp.second < retry_wait
            && !contains(i->failed_nodes, kvp.first)) {
          best = 0;
          if (!st.repump_pending) {
            st.repump_pending = true;
            self->delayed_send(self, retry_wait, repump_atom::value);
          }
        }
    }
    if (tier(*i, w) <= best) {
      auto result = std::move(*i);
      st.retries.erase(i);
      return result;
    }
    ++i;
  }
  for (auto& je : st.jobs) {
    auto size = je->job->size();
    if (je->over || je->next >= size)
      continue;
    chunk c;
    c.je = je;
    c.begin = je->next;
    c.end = std::min(size, je->next + je->job->chunksize());
    je->next = c.end;
    return c;
  }
  return std::nullopt;
}

} // namespace

void requeue(pool_actor* self, chunk c, const caf::error& err,
             const caf::actor_addr& worker, const caf::node_id& node,
             bool counts) {
  auto& st = self->state;
  if (c.je->over)
    return;
  if (counts && ++c.failures > st.opts.max_retries) {
    auto text = "task '" + c.je->job->task_name() + "' failed on items ["
                + std::to_string(c.begin) + ", " + std::to_string(c.end)
                + ") " + std::to_string(c.failures) + " times, last: "
                + describe(err);
    finish_job(self, *c.je, with_context(err, std::move(text)));
    return;
  }
  c.failed_workers.push_back(worker);
  c.failed_nodes.push_back(node);
  ++st.stats.retries;
  st.retries.push_back(std::move(c));
}

namespace {

/// A worker answered: stores the results (through `take`).
template <class Take>
void on_result(pool_actor* self, uint64_t token, Take take) {
  auto& st = self->state;
  auto i = st.flights.find(token);
  if (i == st.flights.end())
    return; // a chunk already given up on (its worker died meanwhile)
  auto f = std::move(i->second);
  st.flights.erase(i);
  auto* w = find_worker(self, f.worker);
  if (w != nullptr) {
    --w->in_flight;
    if (++w->chunks >= st.opts.max_tasks_per_worker
        && st.opts.max_tasks_per_worker > 0)
      w->retiring = true;
  }
  auto& je = *f.c.je;
  if (!je.over) {
    if (auto err = take(*je.job, f.c.begin)) {
      finish_job(self, je, err);
    } else {
      auto n = f.c.end - f.c.begin;
      je.done += n;
      st.stats.items_done += n;
      ++st.stats.chunks_done;
      if (je.job->progress())
        je.job->progress()(je.done, je.job->size());
      if (je.done == je.job->size())
        finish_job(self, je, {});
    }
  }
  if (w != nullptr && w->retiring && w->in_flight == 0)
    recycle(self, *w);
  pump(self);
}

void on_error(pool_actor* self, uint64_t token, caf::error err) {
  auto& st = self->state;
  auto i = st.flights.find(token);
  if (i == st.flights.end())
    return;
  auto f = std::move(i->second);
  st.flights.erase(i);
  auto* w = find_worker(self, f.worker);
  if (w != nullptr)
    --w->in_flight;
  // A chunk queued behind a failing one in the worker's mailbox gets
  // request_receiver_down: not its own failure.
  auto counts = !(err == caf::sec::request_receiver_down);
  requeue(self, std::move(f.c), err, f.worker, f.node, counts);
  if (w != nullptr && w->retiring && w->in_flight == 0)
    recycle(self, *w);
  pump(self);
}

void dispatch(pool_actor* self, worker_entry& w, chunk c) {
  auto& st = self->state;
  auto token = ++st.next_token;
  auto timeout = st.opts.task_timeout.count() > 0
                   ? caf::duration{st.opts.task_timeout}
                   : caf::duration{caf::infinite};
  auto job = c.je->job;
  auto begin = c.begin;
  auto end = c.end;
  ++w.in_flight;
  st.flights.emplace(token, flight{std::move(c), w.hdl.address(),
                                   w.hdl.node()});
  auto fail = [self, token](caf::error& err) {
    on_error(self, token, std::move(err));
  };
  if (w.encoded) {
    wire::Chunk msg;
    msg.set_task(job->task_name());
    job->encode(begin, end, msg.mutable_items());
    self->request(w.hdl, timeout, std::move(msg))
      .then(
        [self, token](wire::ChunkResult& r) {
          on_result(self, token, [&](job_base& j, size_t b) {
            return j.take_encoded(b, r.results());
          });
        },
        fail);
  } else {
    self->request(w.hdl, timeout, local_chunk{job, begin, end})
      .then(
        [self, token](local_result& r) {
          on_result(self, token, [&](job_base& j, size_t b) {
            return j.take(b, r.values);
          });
        },
        fail);
  }
}

} // namespace

void pump(pool_actor* self) {
  auto& st = self->state;
  auto n = st.workers.size();
  for (bool sent = true; sent && n > 0;) {
    sent = false;
    for (size_t k = 0; k < n; ++k) {
      auto& w = st.workers[(st.rr + k) % n];
      if (w.retiring || w.in_flight >= st.opts.prefetch)
        continue;
      if (auto c = next_chunk(self, w)) {
        dispatch(self, w, std::move(*c));
        sent = true;
      }
    }
    st.rr = (st.rr + 1) % n;
  }
}


} // namespace troupe::actors::detail::pool_impl
