// SPDX-License-Identifier: Apache-2.0
#include "pool_actor.hpp"

#include <algorithm>
#include <deque>
#include <thread>
#include <unordered_map>

#include <caf/actor_cast.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>

#include "troupe/actor/spawn.hpp"
#include "troupe/error.hpp"
#include "troupe/log.hpp"
#include "troupe/node/node.hpp"
#include "troupe/supervision/supervisor.hpp"
#include "troupe/supervision/supervisor_handle.hpp"
#include "troupe/wire/proto.hpp"
#include "worker.hpp"

#include "troupe/actors/pool.pb.h"

namespace troupe::actors::detail {

namespace {

/// Sent by a worker slot's start function: (slot, handle, encoded).
using worker_up_atom = caf::atom_constant<caf::atom("trp_wup")>;

/// Timer: try again to hand out retries that waited for another node.
using repump_atom = caf::atom_constant<caf::atom("trp_repump")>;

/// How long a retry waits for a worker on a node where it did not fail,
/// after that node's last worker died (its supervisor is placing a new
/// one, maybe there).
constexpr auto retry_wait = std::chrono::seconds{2};

struct job_entry {
  job_ptr job;
  caf::response_promise rp;
  size_t next = 0; // first item not cut into a chunk yet
  size_t done = 0;
  bool over = false;
};

using job_entry_ptr = std::shared_ptr<job_entry>;

struct chunk {
  job_entry_ptr je;
  size_t begin = 0;
  size_t end = 0;
  size_t failures = 0;
  std::vector<caf::actor_addr> failed_workers;
  std::vector<caf::node_id> failed_nodes;
};

struct worker_entry {
  caf::actor hdl;
  std::string slot;
  bool encoded = false; // chunks travel as Protobuf bytes
  size_t in_flight = 0;
  size_t chunks = 0;
  bool retiring = false;
  bool replaced = false;
};

struct flight {
  chunk c;
  caf::actor_addr worker;
  caf::node_id node;
};

struct pool_state {
  static inline const char* name = "troupe.actors.pool";
  pool_options opts;
  troupe::node* node = nullptr;
  task_registry_ptr tasks;
  caf::actor sup;
  std::vector<worker_entry> workers;
  std::deque<job_entry_ptr> jobs;
  std::deque<chunk> retries;
  std::unordered_map<uint64_t, flight> flights;
  uint64_t next_token = 0;
  uint64_t next_slot = 0;
  size_t rr = 0;
  pool_stats stats;
  // When each node lost its last worker (see `retry_wait`).
  std::unordered_map<caf::node_id, caf::actor_clock::time_point> node_lost;
  bool repump_pending = false;

  void fail_all(const caf::error& err);

  void on_stop(stateful_actor<pool_state>* self, const caf::error& reason) {
    fail_all(reason ? make_error(errc::not_running,
                                 "the pool stopped: " + describe(reason))
                    : make_error(errc::not_running, "the pool stopped"));
    if (sup)
      self->send_exit(sup, caf::exit_reason::user_shutdown);
  }
};

using pool_actor = stateful_actor<pool_state>;

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

worker_entry* find_worker(pool_actor* self, const caf::actor_addr& addr) {
  for (auto& w : self->state.workers)
    if (w.hdl.address() == addr)
      return &w;
  return nullptr;
}

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

void pump(pool_actor* self);

void recycle(pool_actor* self, worker_entry& w);

/// Sends `c` again later. `counts`: the chunk itself failed (its task threw,
/// or its worker died while running it), as opposed to a chunk that only
/// waited behind it in the dead worker's mailbox.
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

child_spec slot_spec(pool_actor* self, std::string slot) {
  auto& st = self->state;
  child_spec spec;
  spec.id = slot;
  spec.shutdown = std::chrono::seconds{2};
  spec.start = [tasks = st.tasks, node = st.node, how = st.opts.placement,
                pool = self->address(),
                slot = std::move(slot)](caf::actor_system& sys) {
    caf::actor hdl;
    if (how) {
      // Runs inside the supervisor: bounded waits for the placement; a
      // node that went down a moment ago may still be chosen once.
      for (int attempt = 0; attempt < 3 && !hdl; ++attempt) {
        auto placed = node->spawn_placed(worker_type, *how);
        if (placed)
          hdl = std::move(*placed);
        else
          log(log_level::warn, "pool: placing a worker failed: "
                                 + describe(placed.error()));
      }
    }
    if (!hdl) // no placement, or no node could host it: run it here
      hdl = troupe::spawn(sys, worker, tasks);
    if (auto p = caf::actor_cast<caf::actor>(pool))
      caf::anon_send(p, worker_up_atom::value, slot, hdl, how.has_value());
    return hdl;
  };
  return spec;
}

void start_slot(pool_actor* self) {
  auto slot = "worker-" + std::to_string(++self->state.next_slot);
  self
    ->request(self->state.sup, caf::infinite, start_child_atom::value,
              slot_spec(self, slot))
    .then([](child_status&) {},
          [slot](caf::error& err) {
            log(log_level::error,
                "pool: " + slot + " did not start: " + describe(err));
          });
}

/// Replaces an idle worker that did its `max_tasks_per_worker` chunks.
void recycle(pool_actor* self, worker_entry& w) {
  if (w.replaced)
    return;
  w.replaced = true;
  ++self->state.stats.recycled;
  // OTP's terminate_child keeps the spec: delete it once the worker is down.
  supervisor_handle sup{self->state.sup, std::chrono::hours{24}};
  sup.terminate_child(self, w.slot, [self, sup, slot = w.slot](caf::error) {
    sup.delete_child(self, slot, [](caf::error) {});
  });
  start_slot(self);
}

void on_down(pool_actor* self, caf::down_msg& dm) {
  auto& st = self->state;
  if (st.sup && dm.source == st.sup.address()) {
    auto err = make_error(errc::escalated, "the pool's supervisor stopped: "
                                             + describe(dm.reason));
    st.fail_all(err);
    st.sup = nullptr;
    self->quit(dm.reason);
    return;
  }
  auto w = std::find_if(st.workers.begin(), st.workers.end(),
                        [&](const worker_entry& x) {
                          return x.hdl.address() == dm.source;
                        });
  if (w == st.workers.end())
    return;
  if (!w->retiring)
    ++st.stats.worker_failures;
  auto node = w->hdl.node();
  st.workers.erase(w);
  if (std::none_of(st.workers.begin(), st.workers.end(),
                   [&](const worker_entry& x) { return x.hdl.node() == node; }))
    st.node_lost[node] = self->clock().now();
  std::vector<uint64_t> lost;
  for (auto& kvp : st.flights)
    if (kvp.second.worker == dm.source)
      lost.push_back(kvp.first);
  std::sort(lost.begin(), lost.end()); // retry in the order they were sent
  auto reason = dm.reason ? dm.reason
                          : make_error(errc::not_running, "worker stopped");
  // The worker ran its chunks in order: the oldest is the one it died on.
  for (auto token : lost) {
    auto f = std::move(st.flights[token]);
    st.flights.erase(token);
    requeue(self, std::move(f.c), reason, dm.source, node,
            token == lost.front());
  }
  pump(self);
}

caf::behavior pool_behavior(pool_actor* self, troupe::node* n,
                            task_registry_ptr tasks, pool_options opts) {
  auto& st = self->state;
  st.node = n;
  st.tasks = std::move(tasks);
  if (opts.workers == 0)
    opts.workers = std::max(1u, std::thread::hardware_concurrency());
  if (opts.prefetch == 0)
    opts.prefetch = 1;
  st.opts = opts;
  st.sup = spawn_supervisor(self->home_system(), opts.supervision, {});
  self->monitor(st.sup);
  self->set_down_handler([self](caf::down_msg& dm) { on_down(self, dm); });
  for (size_t i = 0; i < opts.workers; ++i)
    start_slot(self);
  return {
    [self](worker_up_atom, const std::string& slot, caf::actor& hdl,
           bool encoded) {
      if (!hdl || find_worker(self, hdl.address()) != nullptr)
        return;
      self->monitor(hdl);
      worker_entry w;
      w.hdl = std::move(hdl);
      w.slot = slot;
      w.encoded = encoded;
      self->state.workers.push_back(std::move(w));
      pump(self);
    },
    [self](map_atom, job_ptr& job) {
      auto je = std::make_shared<job_entry>();
      je->rp = self->make_response_promise();
      je->job = std::move(job);
      if (!je->job) {
        je->rp.deliver(make_error(errc::bad_config, "map without a job"));
        return;
      }
      if (je->job->chunksize() == 0) {
        deliver(*je, make_error(errc::bad_config,
                                "chunksize must be at least 1"));
        return;
      }
      if (je->job->size() == 0) {
        deliver(*je, {});
        return;
      }
      self->state.jobs.push_back(std::move(je));
      pump(self);
    },
    [self](repump_atom) {
      self->state.repump_pending = false;
      pump(self);
    },
    [self](pool_stats_atom) {
      auto result = self->state.stats;
      result.workers = self->state.workers.size();
      return result;
    },
    [self](workers_atom) {
      std::vector<caf::actor> result;
      for (auto& w : self->state.workers)
        if (!w.retiring)
          result.push_back(w.hdl);
      return result;
    },
  };
}

} // namespace

caf::actor spawn_pool(caf::actor_system& sys, troupe::node* n,
                      task_registry_ptr tasks, pool_options opts) {
  return troupe::spawn(sys, pool_behavior, n, std::move(tasks),
                       std::move(opts));
}

} // namespace troupe::actors::detail
