// SPDX-License-Identifier: Apache-2.0
// The live data's history: the latest state and a ring of the deltas that
// led to it, each an SSE event with an id, so that a viewer that reconnects
// with `Last-Event-ID` gets only what it missed (or the whole state when
// that is older than the ring). Thread-safe: the sampler records on the
// server's worker thread, viewers read on its I/O thread.
//
// Event ids are "<epoch>.<seq>": the epoch is this log's, so an id from
// another process (a restarted node) never passes for one of ours.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace troupe::dashboard {

class event_log {
public:
  /// Keeps the last `capacity` deltas (at one sample a second: that many
  /// seconds of resume).
  explicit event_log(size_t capacity = 120);

  /// Records a new state, sampled at `unix_ms`; appends the delta from the
  /// previous one unless nothing changed. Returns whether it appended.
  bool record(nlohmann::json state, int64_t unix_ms);

  /// What a viewer needs next: the SSE frames to send and the sequence
  /// number they reach.
  struct catch_up {
    std::string frames;
    uint64_t seq = 0;
    bool full = false;
  };

  /// For a viewer that has seen up to `seq` (0: nothing): the deltas after
  /// it, or the full state when they are gone. None before the first
  /// record.
  std::optional<catch_up> since(uint64_t seq) const;

  /// The sequence number a `Last-Event-ID` names; 0 (so: the full state)
  /// for an id of another epoch, a malformed one or one from the future.
  uint64_t parse_id(std::string_view id) const;

  /// The latest state (null before the first record).
  nlohmann::json state() const;

  uint64_t seq() const;

private:
  std::string id_of(uint64_t seq) const;
  std::string frame(uint64_t seq, const char* event,
                    const std::string& data) const;

  const size_t capacity_;
  const std::string epoch_;
  mutable std::mutex mtx_;
  uint64_t seq_ = 0;
  nlohmann::json state_;
  int64_t state_ms_ = 0;
  // The full-state frame of seq_, built when a viewer first needs it.
  mutable std::string full_frame_;
  mutable uint64_t full_frame_seq_ = 0;
  struct entry {
    uint64_t seq;
    std::string frame;
  };
  std::deque<entry> deltas_;
};

} // namespace troupe::dashboard
