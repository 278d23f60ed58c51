// SPDX-License-Identifier: Apache-2.0
#include "cluster/heartbeat_watch.hpp"

#include <algorithm>

namespace troupe::cluster {

heartbeat_watch::heartbeat_watch(duration failure_timeout, duration stall_limit)
    : timeout_(failure_timeout)
    , stall_limit_(stall_limit) {}

void heartbeat_watch::watch(const std::vector<member_key>& subjects,
                            time_point now) {
  std::vector<entry> next;
  next.reserve(subjects.size());
  for (auto& s : subjects) {
    auto i =
        std::find_if(entries_.begin(), entries_.end(), [&](const entry& e) {
          return e.subject == s;
        });
    next.push_back(i != entries_.end() ? *i : entry{s, now});
  }
  entries_ = std::move(next);
}

void heartbeat_watch::heard(const member_key& subject, time_point at) {
  for (auto& e : entries_)
    if (e.subject == subject) {
      e.last = std::max(e.last, at);
      return;
    }
}

std::vector<watch_verdict> heartbeat_watch::judge(time_point now) {
  bool stalled = judged_ && now - last_judged_ > stall_limit_;
  judged_ = true;
  last_judged_ = now;
  std::vector<watch_verdict> result;
  result.reserve(entries_.size());
  for (auto& e : entries_) {
    if (stalled)
      e.last = std::max(e.last, now);
    result.push_back({e.subject, now - e.last < timeout_});
  }
  return result;
}

std::vector<member_key> heartbeat_watch::subjects() const {
  std::vector<member_key> result;
  result.reserve(entries_.size());
  for (auto& e : entries_)
    result.push_back(e.subject);
  return result;
}

} // namespace troupe::cluster
