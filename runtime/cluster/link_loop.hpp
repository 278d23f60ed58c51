// SPDX-License-Identifier: Apache-2.0
#pragma once

// The reader threads of a node's direct links: a small fixed pool, each an
// epoll loop over the links it was given (see `link_loop`).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

namespace troupe::cluster {

class link_reader;

/// Reads every incoming direct link of one node with a fixed number of
/// threads, so that a node's threads do not grow with its peers and an idle
/// node's readers sleep in epoll_wait (no timeout, no polling).
///
/// Each link, once its handshake is done, is adopted by the thread with the
/// fewest links and stays there until it closes: its frames are read and
/// delivered by that one thread, in order, as before by a thread of its
/// own. A thread reads a link at most a few times in a row, then serves
/// the others. After a round that found data it polls for more for the
/// adaptive budget of `spin_budget` (actor/spin_budget.hpp), then sleeps.
///
/// Thread safety: `adopt` may be called from any thread; `start` and
/// `stop` by the link layer's owner only.
class link_loop {
public:
  /// `threads`: 0 for min(cores, 2). `spin`: the most a spin lasts.
  link_loop(size_t threads, std::chrono::microseconds spin);

  ~link_loop();

  link_loop(const link_loop&) = delete;
  link_loop& operator=(const link_loop&) = delete;

  /// Starts the threads; false if the system has no epoll or eventfd left.
  bool start();

  /// Hands over `r` (its handshake done): it is read from now on, and
  /// finished (mirrors retired, socket closed) when it closes or the loop
  /// stops. False, `r` untouched, if the loop is stopping or not started:
  /// the caller finishes it.
  bool adopt(std::unique_ptr<link_reader>& r);

  /// Finishes every link and joins the threads.
  void stop();

  /// How many threads read (the node's figure, and tests').
  size_t threads() const {
    return shards_.size();
  }

private:
  struct shard;

  /// What a spin found.
  struct spun {
    int events = 0;    // from epoll_wait (0: none)
    bool read = false; // the hot link had data, read and delivered
  };

  void run(shard& s);
  /// Polls `s` for up to its spin budget: mostly the link that last had
  /// data (one system call that reads it, not two), now and then all of
  /// them. Nothing found: the budget shrank.
  spun spin(shard& s, void* events, int max);
  /// Forgets `r`, retires it and closes its socket.
  void finish(shard& s, link_reader* r);

  size_t wanted_;
  std::chrono::microseconds spin_;
  std::vector<std::unique_ptr<shard>> shards_;
};

} // namespace troupe::cluster
