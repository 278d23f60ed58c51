// SPDX-License-Identifier: Apache-2.0
// Requests this node forwarded to other nodes on behalf of local senders
// (through troupe handles and mirrors), so that a node that goes down
// fails them at once instead of leaving them to time out.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/message_id.hpp>
#include <caf/node_id.hpp>

namespace troupe::cluster {

class pending_requests {
public:
  /// Remembers a request forwarded to `target_node` on behalf of
  /// `(sender, mid)`; returns the id to send it under.
  caf::message_id add(const caf::node_id& target_node,
                      caf::strong_actor_ptr sender, caf::message_id mid);

  /// Takes the pending request answered under `response_id`.
  bool take(caf::message_id response_id, caf::strong_actor_ptr& sender,
            caf::message_id& mid);

  /// Fails every request pending on `target_node` with `err`.
  size_t fail(const caf::node_id& target_node, const caf::error& err);

  /// Forgets requests older than `age` (their requesters have long timed
  /// out when a node never answered and never went down).
  size_t expire(std::chrono::steady_clock::duration age);

  void clear();

  /// Requests failed with `node_down` so far.
  uint64_t failed() const noexcept {
    return failed_.load();
  }

  /// Counts a request failed elsewhere (at once, before it went out).
  void count_failed(uint64_t n = 1) noexcept {
    failed_ += n;
  }

private:
  struct request {
    caf::node_id target;
    caf::strong_actor_ptr sender;
    caf::message_id mid;
    std::chrono::steady_clock::time_point since;
  };

  std::mutex mtx_;
  uint64_t next_ = 0;
  std::unordered_map<uint64_t, request> requests_;
  std::atomic<uint64_t> failed_{0};
};

} // namespace troupe::cluster
