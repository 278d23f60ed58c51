// SPDX-License-Identifier: Apache-2.0
// The cork around each handler call (actor/actor_base.cpp): what a handler
// sends to other nodes leaves in one write when the outermost cork on its
// thread ends. The actor layer only counts corks; the layer that buffers
// the writes (cluster/link_writer.cpp) marks the thread dirty when it holds
// some back and registers the flush, so that this layer never includes it.
#pragma once

#include <atomic>

namespace troupe::detail {

struct cork_state {
  int depth = 0;      // corks open on this thread
  bool dirty = false; // writes held back until the outermost one ends
};

inline thread_local cork_state tl_cork;

using cork_flush_fn = void (*)();

/// Set by the buffering layer, once: writes out this thread's held-back
/// data (and clears `tl_cork.dirty` unless more came meanwhile).
inline std::atomic<cork_flush_fn> cork_flush{nullptr};

class cork_scope {
public:
  cork_scope() noexcept {
    ++tl_cork.depth;
  }
  ~cork_scope() {
    if (--tl_cork.depth == 0 && tl_cork.dirty)
      if (auto f = cork_flush.load(std::memory_order_acquire))
        f();
  }
  cork_scope(const cork_scope&) = delete;
  cork_scope& operator=(const cork_scope&) = delete;
};

} // namespace troupe::detail
