// SPDX-License-Identifier: Apache-2.0
// Failure detection that busy actor handlers cannot starve: a thread of its
// own sends the daemon's heartbeats and keeps the "did this node run" clock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>

namespace troupe::cluster {

/// Judges the gaps between the wake-ups of a thread that asks to wake every
/// heartbeat interval: a gap longer than `limit` means the whole process
/// did not run (SIGSTOP, a frozen VM), since nothing else keeps that thread
/// from waking. Pure: fed the times of the wake-ups.
class stall_clock {
public:
  using clock = std::chrono::steady_clock;

  explicit stall_clock(clock::duration limit) : limit_(limit) {}

  /// Notes a wake-up at `now`; returns the gap since the previous one when
  /// it exceeded the limit.
  std::optional<clock::duration> wake(clock::time_point now);

private:
  clock::duration limit_;
  std::optional<clock::time_point> last_;
};

/// Whether the link to a member that went down dropped while its heartbeats
/// were fresh (its process died and the kernel closed the connection) or
/// after it had gone silent (frozen or cut off): silent for half the
/// failure timeout when the drop reached this node. Pure.
bool went_silent(std::chrono::steady_clock::time_point last_heard,
                 std::chrono::steady_clock::time_point dropped_at,
                 std::chrono::steady_clock::duration failure_timeout);

/// The cluster daemon's failure detection off CAF's scheduler. A thread of
/// its own wakes every heartbeat interval, notes whether the process ran
/// (`stall_clock`) and sends the heartbeat the daemon last prepared to the
/// members the daemon last listed, on the daemon's behalf. The daemon's
/// `enqueue` (which runs on the delivering thread: the network's, a link
/// reader's) notes when heartbeats and down messages arrived. The daemon
/// reads all of it when it runs, however long busy handlers kept it waiting.
///
/// Thread safety: every member function may be called from any thread.
class liveness {
public:
  using clock = std::chrono::steady_clock;

  liveness(std::chrono::milliseconds heartbeat_interval,
           std::chrono::milliseconds failure_timeout);

  ~liveness();

  liveness(const liveness&) = delete;
  liveness& operator=(const liveness&) = delete;

  /// Starts the thread; `sender` is the daemon (heartbeats go out as its).
  void start(caf::weak_actor_ptr sender);

  /// Stops and joins the thread (idempotent).
  void stop();

  /// What to send every heartbeat interval, and to whom (replaces both).
  void set_heartbeat(caf::message hb, std::vector<caf::actor> to);

  /// Gossip detection: the heartbeat that answers a monitor's probe (the
  /// daemon's `enqueue` sends it back at once, on the receiving thread).
  void set_answer(caf::message answer);
  caf::message answer() const;

  /// The longest stall seen since the last call, if any (this call's own
  /// look at the clock included). Heartbeats are held
  /// back from a stall until the daemon took it (and, if it fenced the node,
  /// prepared heartbeats of its new incarnation).
  std::optional<clock::duration> take_stall();

  /// A heartbeat of `name`/`incarnation` arrived at `at`.
  void heard(const std::string& name, uint64_t incarnation, clock::time_point at);

  /// When the last heartbeat of `name`/`incarnation` arrived.
  std::optional<clock::time_point> last_heard(const std::string& name,
                                              uint64_t incarnation) const;

  /// Forgets the arrivals of `name` (it left the view).
  void forget(const std::string& name);

  /// A down message from `source` arrived at `at`.
  void down_arrived(const caf::actor_addr& source, clock::time_point at);

  /// When the down message from `source` arrived (and forgets it).
  std::optional<clock::time_point> take_down(const caf::actor_addr& source);

  /// Heartbeat rounds the thread sent (for tests and figures).
  uint64_t rounds() const;

private:
  void run();

  const std::chrono::milliseconds interval_;
  std::mutex send_mtx_; // held while a round goes out (taken before mtx_)
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
  caf::weak_actor_ptr sender_;
  caf::message hb_;
  caf::message answer_;
  std::vector<caf::actor> to_;
  stall_clock clock_;
  std::optional<clock::duration> stall_;
  uint64_t rounds_ = 0;
  std::map<std::string, std::pair<uint64_t, clock::time_point>> heard_;
  std::map<caf::actor_addr, clock::time_point> downs_;
};

} // namespace troupe::cluster
