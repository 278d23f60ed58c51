// SPDX-License-Identifier: Apache-2.0
#include "introspection/mailbox_depths.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "troupe/actor/actor_base.hpp"

namespace troupe::detail {

namespace {

/// Shared by the caller and the asking actor, which may still write after
/// the caller gave up waiting.
struct depths {
  std::mutex mtx;
  std::condition_variable all_in;
  std::vector<std::optional<uint64_t>> values;
  size_t left = 0;

  void set(size_t i, std::optional<uint64_t> x) {
    std::lock_guard<std::mutex> guard{mtx};
    values[i] = x;
    if (--left == 0)
      all_in.notify_all();
  }
};

} // namespace

std::vector<std::optional<uint64_t>>
mailbox_depths(caf::actor_system& sys, std::vector<caf::actor> targets,
               std::chrono::milliseconds timeout) {
  auto st = std::make_shared<depths>();
  st->values.resize(targets.size());
  st->left = targets.size();
  if (targets.empty())
    return {};
  sys.spawn([st, targets = std::move(targets),
             timeout](caf::event_based_actor* self) {
    for (size_t i = 0; i < targets.size(); ++i)
      self
        ->request<caf::message_priority::high>(targets[i], timeout,
                                               mailbox_depth_atom::value)
        .then([st, i](uint64_t depth) { st->set(i, depth); },
              [st, i](caf::error&) { st->set(i, std::nullopt); });
    // Ends once every request is answered or timed out (no behavior).
  });
  std::unique_lock<std::mutex> guard{st->mtx};
  // A little beyond the requests' own timeout, which answers them all.
  st->all_in.wait_for(guard, timeout + std::chrono::milliseconds{100},
                      [&] { return st->left == 0; });
  return st->values;
}

} // namespace troupe::detail
