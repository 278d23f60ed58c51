// SPDX-License-Identifier: Apache-2.0
// The pool actor: its workers, each a slot under a supervisor of its own
// (placed on other nodes when `placement` says so), and its behavior; how
// it hands out chunks is in pool_chunks.cpp.
#include "pool_actor.hpp"
#include "pool_state.hpp"

#include <algorithm>
#include <thread>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "troupe/actor/spawn.hpp"
#include "troupe/error.hpp"
#include "troupe/log.hpp"
#include "troupe/node/node.hpp"
#include "troupe/supervision/supervisor.hpp"
#include "troupe/supervision/supervisor_handle.hpp"
#include "worker.hpp"

namespace troupe::actors::detail {

namespace pool_impl {

namespace {

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

} // namespace

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

namespace {

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

} // namespace pool_impl

caf::actor spawn_pool(caf::actor_system& sys, troupe::node* n,
                      task_registry_ptr tasks, pool_options opts) {
  return troupe::spawn(sys, pool_impl::pool_behavior, n, std::move(tasks),
                       std::move(opts));
}

} // namespace troupe::actors::detail
