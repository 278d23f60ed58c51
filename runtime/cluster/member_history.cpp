// SPDX-License-Identifier: Apache-2.0
#include "cluster/member_history.hpp"

#include <chrono>

namespace troupe::cluster {

void member_history::record(member_change x) {
  if (x.unix_ms == 0)
    x.unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  std::lock_guard<std::mutex> guard{mtx_};
  x.seq = next_seq_++;
  changes_.emplace_back(std::move(x));
  while (changes_.size() > capacity)
    changes_.pop_front();
}

std::vector<member_change> member_history::recent() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return {changes_.begin(), changes_.end()};
}

uint64_t member_history::last_incarnation(const std::string& name) const {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto i = changes_.rbegin(); i != changes_.rend(); ++i)
    if (i->name == name)
      return i->incarnation;
  return 0;
}

} // namespace troupe::cluster
