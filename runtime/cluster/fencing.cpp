// SPDX-License-Identifier: Apache-2.0
#include "cluster/fencing.hpp"

#include <algorithm>

namespace troupe::cluster {

uint64_t next_incarnation(uint64_t previous,
                          std::chrono::system_clock::time_point now) noexcept {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
              now.time_since_epoch())
              .count();
  return std::max(previous + 1, static_cast<uint64_t>(us));
}

fence_verdict judge_incarnation(const incarnation_record* known,
                                uint64_t incarnation) noexcept {
  if (known == nullptr)
    return fence_verdict::not_fenced;
  if (incarnation < known->incarnation)
    return fence_verdict::fenced;
  if (incarnation > known->incarnation || !known->down)
    return fence_verdict::not_fenced;
  return known->by_own_fence ? fence_verdict::void_judgement
                             : fence_verdict::fenced;
}

} // namespace troupe::cluster
