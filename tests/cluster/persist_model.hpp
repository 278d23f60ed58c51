// SPDX-License-Identifier: Apache-2.0
// The reference model of the crash tests' persistent writers: the events of
// batch `b` of writer `a` are a pure function of (a, b), so a test can tell
// from the stored events alone whether they are exactly batches 1..k.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "troupe_test/test.pb.h"

namespace troupe::test::persist_model {

inline uint64_t mix(uint64_t x) { // splitmix64's finalizer
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

inline std::string pid(int actor) {
  return "crash|" + std::to_string(actor);
}

/// Number of events of batch `b` (1-based) of writer `a`: 1..16.
inline size_t batch_size(int a, uint64_t b) {
  return 1 + mix(static_cast<uint64_t>(a) * 1000003u + b) % 16;
}

/// The `i`th event of batch `b` of writer `a`: it names its writer, batch
/// and place in the batch (so a stray or misplaced event is visible), and
/// adds a pseudo-random amount.
inline troupe_test::CounterEvent event(int a, uint64_t b, size_t i) {
  troupe_test::CounterEvent ev;
  ev.set_add(static_cast<int64_t>(mix(mix(a) ^ (b << 8) ^ i) % 1000003) - 500000);
  ev.set_note(std::to_string(a) + "/" + std::to_string(b) + "/"
              + std::to_string(i));
  return ev;
}

inline std::vector<troupe_test::CounterEvent> batch(int a, uint64_t b) {
  std::vector<troupe_test::CounterEvent> out;
  auto n = batch_size(a, b);
  for (size_t i = 0; i < n; ++i)
    out.push_back(event(a, b, i));
  return out;
}

/// The fold (the same as the counter's).
inline void apply(troupe_test::CounterState& s,
                  const troupe_test::CounterEvent& e) {
  s.set_total(s.total() + e.add());
  s.set_events(s.events() + 1);
}

/// Sequence number of the last event of batch `b` (0 for b = 0).
inline uint64_t last_seq(int a, uint64_t b) {
  uint64_t n = 0;
  for (uint64_t i = 1; i <= b; ++i)
    n += batch_size(a, i);
  return n;
}

/// The number of whole batches that `events` events make, or -1 if they
/// end inside a batch.
inline int64_t batches_in(int a, uint64_t events) {
  uint64_t n = 0;
  for (uint64_t b = 0;; ++b) {
    if (n == events)
      return static_cast<int64_t>(b);
    if (n > events)
      return -1;
    n += batch_size(a, b + 1);
  }
}

/// The reference state after batches 1..k.
inline troupe_test::CounterState state_after(int a, uint64_t k) {
  troupe_test::CounterState s;
  for (uint64_t b = 1; b <= k; ++b)
    for (auto& ev : batch(a, b))
      apply(s, ev);
  return s;
}

} // namespace troupe::test::persist_model
