// SPDX-License-Identifier: Apache-2.0
#include "worker.hpp"

#include <caf/result.hpp>

#include "troupe/actors/detail/job.hpp"
#include "troupe/error.hpp"
#include "troupe/wire/proto.hpp"

#include "troupe/actors/pool.pb.h"

namespace troupe::actors::detail {

caf::behavior worker(stateful_actor<worker_state>*, task_registry_ptr tasks) {
  return {
    [](const local_chunk& c) {
      return local_result{c.job->run(c.begin, c.end)};
    },
    [tasks](const wire::Chunk& c) -> caf::result<wire::ChunkResult> {
      auto run = tasks ? tasks->find(c.task()) : nullptr;
      if (run == nullptr)
        return make_error(errc::name_not_found,
                          "no task '" + c.task() + "' is registered here");
      wire::ChunkResult result;
      try {
        (*run)(c.items(), result.mutable_results());
      } catch (const undecodable_item& e) {
        return make_error(errc::rejected_message, e.what());
      }
      return result;
    },
  };
}

} // namespace troupe::actors::detail
