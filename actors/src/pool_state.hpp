// SPDX-License-Identifier: Apache-2.0
// The pool actor's state (pool_actor.cpp: its worker slots and behavior;
// pool_chunks.cpp: how maps are cut into chunks, handed out and retried).
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/atom.hpp>
#include <caf/node_id.hpp>
#include <caf/response_promise.hpp>

#include "troupe/actor/stateful_actor.hpp"
#include "troupe/actors/pool.hpp"

namespace troupe {
class node;
} // namespace troupe

namespace troupe::actors::detail::pool_impl {

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

// pool_chunks.cpp

/// Answers a job's requester (or its future) with its results or `err`.
void deliver(job_entry& je, const caf::error& err);

worker_entry* find_worker(pool_actor* self, const caf::actor_addr& addr);

/// Sends `c` again later. `counts`: the chunk itself failed (its task threw,
/// or its worker died while running it), as opposed to a chunk that only
/// waited behind it in the dead worker's mailbox.
void requeue(pool_actor* self, chunk c, const caf::error& err,
             const caf::actor_addr& worker, const caf::node_id& node,
             bool counts);

/// Hands out chunks to every worker with room, round robin.
void pump(pool_actor* self);

// pool_actor.cpp

/// Replaces an idle worker that did its `max_tasks_per_worker` chunks.
void recycle(pool_actor* self, worker_entry& w);

} // namespace troupe::actors::detail::pool_impl
