// SPDX-License-Identifier: Apache-2.0
// What the server's sessions share: the node, the settings, the live
// data's log, the worker for blocking calls, and the live views. Sessions
// hold it by shared_ptr, so it outlives the last of them whatever order
// the server's io_contexts tear them down in; it holds no Asio object of
// its own.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "dashboard/event_log.hpp"
#include "dashboard/history.hpp"
#include "dashboard/server.hpp"

namespace troupe::dashboard {

/// A live view (sse_session, over either stream), as the hub sees it.
class live_view {
public:
  virtual ~live_view() = default;
  /// Sends what the log has beyond what this view has seen (I/O thread).
  virtual void pump() = 0;
};

struct hub {
  hub(node& owner, settings cfg, boost::asio::io_context& io,
      boost::asio::io_context& worker)
    : owner(owner), cfg(std::move(cfg)), io(io), worker(worker) {
  }

  node& owner;
  const settings cfg;
  boost::asio::io_context& io;     // the I/O thread's
  boost::asio::io_context& worker; // the worker thread's: node calls
  event_log log;
  history past; // the sparklines' last 15 minutes

  std::atomic<size_t> connections{0}; // alive now
  std::atomic<size_t> viewers{0};     // of those, live views
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> refused{0};
  std::atomic<uint64_t> tls_refused{0};
  std::atomic<uint64_t> samples{0};         // for the live views
  std::atomic<uint64_t> history_samples{0}; // for the history alone

  // I/O thread only.
  std::vector<std::weak_ptr<live_view>> views;
  /// Set by the server while it runs: tells the sampler a view opened.
  std::function<void()> on_view_opened;

  /// Sends every live view what it has not seen yet (I/O thread; in
  /// sse_session.cpp, beside the views).
  void broadcast();
};

/// Counts a connection from accept to close (any thread).
class connection_slot {
public:
  explicit connection_slot(std::shared_ptr<hub> h) : hub_(std::move(h)) {
    ++hub_->connections;
  }
  ~connection_slot() {
    if (hub_)
      --hub_->connections;
  }
  connection_slot(connection_slot&&) = default;
  connection_slot(const connection_slot&) = delete;
  connection_slot& operator=(const connection_slot&) = delete;

  hub& get() const {
    return *hub_;
  }
  const std::shared_ptr<hub>& shared() const {
    return hub_;
  }

private:
  std::shared_ptr<hub> hub_;
};

} // namespace troupe::dashboard
