// SPDX-License-Identifier: Apache-2.0
#include "troupe/actors/pool.hpp"

#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "troupe/actor/spawn.hpp"
#include "troupe/error.hpp"
#include "troupe/node/node.hpp"
#include "troupe/wire/proto.hpp"
#include "pool_actor.hpp"
#include "worker.hpp"

#include "troupe/actors/pool.pb.h"

namespace troupe::actors {

namespace {

constexpr auto ask_timeout = std::chrono::seconds{5};

template <class T, class... Ts>
caf::expected<T> ask(caf::actor_system& sys, const caf::actor& hdl,
                     Ts... xs) {
  caf::scoped_actor self{sys};
  caf::expected<T> result{T{}};
  self->request(hdl, ask_timeout, xs...)
    .receive([&](T& x) { result = std::move(x); },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

} // namespace

pool::pool(caf::actor_system& sys, task_registry_ptr tasks, pool_options opts)
  : sys_(&sys) {
  if (opts.placement)
    throw std::invalid_argument(
      "pool: placing workers on other nodes needs pool(node&, ...)");
  hdl_ = detail::spawn_pool(sys, nullptr, std::move(tasks), std::move(opts));
}

pool::pool(troupe::node& n, task_registry_ptr tasks, pool_options opts) {
  if (!n.running())
    throw std::logic_error("pool: the node is not running");
  sys_ = &n.system();
  hdl_ = detail::spawn_pool(*sys_, &n, std::move(tasks), std::move(opts));
  n.track(hdl_);
}

pool::~pool() {
  caf::anon_send_exit(hdl_, caf::exit_reason::user_shutdown);
}

void pool::submit(detail::job_ptr job) {
  caf::anon_send(hdl_, map_atom::value, std::move(job));
}

caf::expected<pool_stats> pool::stats() const {
  return ask<pool_stats>(*sys_, hdl_, pool_stats_atom::value);
}

caf::expected<std::vector<caf::actor>> pool::workers() const {
  return ask<std::vector<caf::actor>>(*sys_, hdl_, workers_atom::value);
}

void host_workers(troupe::node& n, task_registry_ptr tasks) {
  n.add_message_type<wire::Chunk>().add_message_type<wire::ChunkResult>();
  n.add_actor_type(worker_type, [tasks](caf::actor_system& sys,
                                        const caf::message&) {
    return troupe::spawn(sys, detail::worker, tasks);
  });
}

} // namespace troupe::actors
