// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

#include "troupe/actors/detail/job.hpp"
#include "troupe/actors/pool_error.hpp"
#include "troupe/actors/task_registry.hpp"
#include "troupe/cluster/cluster.hpp"
#include "troupe/supervision/child_spec.hpp"

namespace troupe {
class node;
} // namespace troupe

namespace troupe::actors {

/// `(map_atom, job)`: runs a map (see `pool::map_request`); answers
/// `std::vector<Out>` in input order, or the error that failed it.
using map_atom = caf::atom_constant<caf::atom("trp_map")>;

/// Asks a pool for its `pool_stats`.
using pool_stats_atom = caf::atom_constant<caf::atom("trp_pstats")>;

/// Asks a pool for the handles of its live workers (`std::vector<caf::actor>`).
using workers_atom = caf::atom_constant<caf::atom("trp_wrkrs")>;

/// The actor type a pool spawns on other nodes (see `host_workers`).
constexpr const char* worker_type = "troupe.actors.worker";

/// How a pool runs. Defaults suit a map over a few thousand items.
struct pool_options {
  /// Number of workers; 0 means one per core of this machine.
  size_t workers = 0;
  /// How often one chunk may be retried after its worker failed on it (its
  /// task threw, or the worker or its node died while running it) before
  /// the whole map fails with that error. Chunks that only waited behind
  /// it in the worker's mailbox are sent again without counting.
  size_t max_retries = 3;
  /// A worker is replaced by a fresh one after this many chunks (0: never),
  /// as multiprocessing's `maxtasksperchild` (there, too, a chunk is one
  /// task). Replacing is not a failure: it does not count as a restart.
  size_t max_tasks_per_worker = 0;
  /// Chunks sent to one worker before it answered one: 2 hides the round
  /// trip between pool and worker.
  size_t prefetch = 2;
  /// A chunk that got no answer within this time fails (and is retried);
  /// zero waits as long as the worker lives (its death or its node's is
  /// noticed without a timeout).
  std::chrono::milliseconds task_timeout{0};
  /// Where workers run. Empty: in this process. Set: through
  /// `node::spawn_placed` on members that called `host_workers`; chunks
  /// for these workers travel as Protobuf bytes (even when placement picks
  /// this node). Needs the `pool(node&, ...)` constructor.
  std::optional<troupe::placement> placement;
  /// The workers' supervisor. A pool restarts workers that die; more than
  /// `max_restarts` within `period` make the supervisor, and the pool,
  /// give up (every pending map fails with the reason).
  supervisor_flags supervision = default_supervision();

  static supervisor_flags default_supervision() {
    supervisor_flags flags;
    flags.max_restarts = 20;
    flags.period = std::chrono::seconds{5};
    return flags;
  }
};

/// Options of one `map` call.
struct map_options {
  /// Items sent to a worker at once. Larger chunks cost fewer messages;
  /// smaller ones balance better and lose less when a worker fails.
  size_t chunksize = 1;
  /// Called by the pool actor (not the caller's thread) after each
  /// finished chunk with (items done, items in all). Keep it short.
  std::function<void(size_t done, size_t total)> progress;
};

/// Counters of a pool since it started.
struct pool_stats {
  uint64_t items_done = 0;
  uint64_t chunks_done = 0;
  /// Chunks sent again after a failure.
  uint64_t retries = 0;
  /// Worker incarnations that died while the pool needed them.
  uint64_t worker_failures = 0;
  /// Workers replaced after `max_tasks_per_worker` chunks.
  uint64_t recycled = 0;
  uint64_t maps_done = 0;
  uint64_t maps_failed = 0;
  /// Workers alive now.
  uint64_t workers = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pool_stats& x) {
  return f(caf::meta::type_name("troupe.actors.pool_stats"), x.items_done,
           x.chunks_done, x.retries, x.worker_failures, x.recycled,
           x.maps_done, x.maps_failed, x.workers);
}

/// A supervised pool of workers that maps a task over items, like
/// Python's `multiprocessing.Pool.map` or Dask's `client.map`, on the
/// workers of one process or of a cluster.
///
/// `map` cuts the items into chunks of `chunksize`, hands them to idle
/// workers and gathers the results in input order. A chunk whose worker
/// throws, dies or whose node goes down is sent to another worker (another
/// node when one is available), at most `max_retries` times; then the map
/// fails with that error. Several maps may run at once; their chunks are
/// served first come, first served.
///
/// Non-actor callers use `map` (blocking) or `map_async` (a
/// `std::future`); actors send `map_request(...)` to `handle()` with
/// `request(...).then(...)` and get `std::vector<Out>` or an error.
///
/// Thread safety: every member may be called from any thread. The pool
/// must not outlive its actor system or node.
class pool {
public:
  /// A pool whose workers run in this process.
  pool(caf::actor_system& sys, task_registry_ptr tasks,
       pool_options opts = {});

  /// A pool whose workers go where `opts.placement` says (in this process
  /// when it is empty). Call `host_workers(n, tasks)` before `n.start()`.
  pool(troupe::node& n, task_registry_ptr tasks, pool_options opts = {});

  /// Stops the pool and its workers; pending maps fail.
  ~pool();

  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;

  /// The pool actor (for `map_request`, `pool_stats_atom`, `workers_atom`).
  const caf::actor& handle() const noexcept {
    return hdl_;
  }

  /// Maps `t` over `items` and blocks until every result is in.
  template <class In, class Out>
  caf::expected<std::vector<Out>>
  map(const task<In, Out>& t, std::vector<In> items, map_options opts = {}) {
    auto fut = map_async(t, std::move(items), std::move(opts));
    try {
      return fut.get();
    } catch (const pool_error& e) {
      return e.error();
    }
  }

  /// Starts a map and returns at once. The future throws `pool_error`
  /// when the map fails.
  template <class In, class Out>
  std::future<std::vector<Out>>
  map_async(const task<In, Out>& t, std::vector<In> items,
            map_options opts = {}) {
    auto job = std::make_shared<detail::typed_job<In, Out>>(
      t, std::move(items), opts.chunksize, std::move(opts.progress), true);
    auto fut = job->future();
    submit(job);
    return fut;
  }

  /// The message an actor sends to `handle()` for a map:
  /// `self->request(p.handle(), timeout, p.map_request(t, xs)).then(
  ///    [](std::vector<Out>& results) {...}, [](caf::error& err) {...})`.
  template <class In, class Out>
  static caf::message map_request(const task<In, Out>& t,
                                  std::vector<In> items,
                                  map_options opts = {}) {
    detail::job_ptr job = std::make_shared<detail::typed_job<In, Out>>(
      t, std::move(items), opts.chunksize, std::move(opts.progress), false);
    return caf::make_message(map_atom::value, std::move(job));
  }

  /// The pool's counters (blocks for one round trip to the pool actor).
  caf::expected<pool_stats> stats() const;

  /// The live workers (blocks for one round trip).
  caf::expected<std::vector<caf::actor>> workers() const;

private:
  void submit(detail::job_ptr job);

  caf::actor_system* sys_;
  caf::actor hdl_;
};

/// Makes `n` able to host workers of pools on other nodes: registers the
/// worker actor type (`worker_type`, running the tasks of `tasks`) and the
/// pool's messages. Call on every node that hosts workers, and on every
/// node that runs a pool with `placement` set, before `n.start()`.
void host_workers(troupe::node& n, task_registry_ptr tasks);

} // namespace troupe::actors
