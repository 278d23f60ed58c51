// SPDX-License-Identifier: Apache-2.0
// Membership kept in etcd: this node's record under a lease it keeps
// alive, and a watch on everyone's records.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cluster/etcd/client.hpp"
#include "cluster/etcd/member_record.hpp"
#include "cluster/etcd/member_table.hpp"
#include "cluster/etcd/result.hpp"

namespace troupe::cluster::etcd {

/// What a provider needs.
struct provider_settings {
  /// The cluster: members are kept under `/troupe/<cluster>/members/`.
  std::string cluster;
  /// This node, put at `/troupe/<cluster>/members/<self.name>`.
  member_record self;
  /// etcd's client endpoints (`host:port`).
  std::vector<std::string> endpoints{"127.0.0.1:2379"};
  /// The lease: a node that stops renewing it leaves everyone's view after
  /// it. etcd may raise a small one (to about 2 s); the provider renews
  /// every third of what etcd granted.
  std::chrono::seconds lease_ttl{3};
  /// Bound on each call to etcd. Zero: half of `lease_ttl`, between
  /// 500 ms and 5 s (a slow renewal only delays the next one; the lease
  /// runs out a TTL after the last one that arrived).
  std::chrono::milliseconds call_timeout{0};
  /// Longest wait between two tries while etcd cannot be reached (the
  /// waits double from 100 ms). Zero: a third of `lease_ttl`, so that a
  /// lease etcd kept through its outage is renewed in time when it is back.
  std::chrono::milliseconds max_backoff{0};
};

/// How the provider stands with etcd.
struct provider_health {
  /// False from the first failed call until a listing succeeds again; the
  /// view is then the last one etcd gave.
  bool reachable = true;
  /// Whether the view was listed from etcd at least once.
  bool listed = false;
  /// The last failure, as one line (empty if none yet).
  std::string last_error;
  /// Members in the view.
  size_t members = 0;
  /// The lease this node's record is under (0: none yet).
  int64_t lease = 0;
};

/// Keeps this node's membership in etcd and reports the others', as
/// Proto.Actor's etcd provider does: a lease per node for liveness, a
/// watch for changes.
///
/// `start()` returns at once and starts two threads. The keeper grants a
/// lease, puts this node's record under it and renews it every third of
/// its TTL; if etcd says the lease is gone (it expired while etcd could not
/// be reached), it grants another and puts the record again. The watcher
/// lists the members' prefix, then watches it from the listed revision and
/// calls `on_event` for every change, on its own thread, in etcd's order
/// (`view()` already shows a change when its callback runs). The view
/// holds this node too, once its record is in etcd.
///
/// When etcd cannot be reached the provider keeps its last view: members
/// are not dropped for etcd's sake. It logs once, at warning level,
/// "etcd unreachable (...): keeping the last view of N members", retries
/// with doubling waits up to `max_backoff`, and when etcd answers again it
/// lists the prefix anew and reports the difference to the last view (a
/// member that left meanwhile is `left`, one that came `joined`), then
/// logs that it is back. A watch that breaks or a renewal that fails makes
/// the watcher list again (a cut connection may not break a watch).
///
/// `stop()` revokes the lease, so the others see this node leave at once;
/// it and the destructor return within about two call timeouts whatever
/// etcd does. No callback runs after `stop()` returns.
///
/// Thread safety: `view()` and `health()` may be called from any thread.
/// `start()`, `stop()` and the destructor belong to the owner, and must
/// not be called from `on_event` (which must not throw; what it throws is
/// logged and dropped).
class provider {
public:
  using callback = std::function<void(const member_event&)>;

  provider(provider_settings settings, callback on_event);

  ~provider();

  provider(const provider&) = delete;
  provider& operator=(const provider&) = delete;

  /// Checks the settings (`errc::invalid`) and starts the threads. Needs
  /// no etcd: an unreachable etcd is retried.
  result<done> start();

  /// Revokes the lease and stops. Idempotent.
  void stop();

  /// Puts a new record for this node (a new incarnation after it was
  /// fenced, a new port) under the same lease; the others see it `updated`
  /// (or `left` and `joined` for a new incarnation). The name must stay:
  /// `errc::invalid` otherwise. Any thread.
  result<done> update_self(member_record self);

  /// Every member in the last view, by name.
  std::vector<member_record> view() const;

  provider_health health() const;

  /// Waits until the view was listed from etcd once, or `timeout`.
  bool await_listed(std::chrono::milliseconds timeout) const;

  /// Tests only: stops without revoking the lease, as a killed process
  /// would (others see this node leave when the lease expires).
  void crash_for_testing();

private:
  void shutdown(bool revoke);
  void keep();
  void watch();
  // Applies one watch message to the table; returns the events.
  std::vector<member_event> apply(const watch_batch& batch);
  // Turns the listed keys into records, skipping (and logging) bad ones.
  std::vector<member_record> records_of(const std::vector<key_value>& kvs);
  std::optional<member_record> record_of(const key_value& kv);
  void emit(const std::vector<member_event>& events);
  // Outage bookkeeping: `who` is 0 (keeper) or 1 (watcher).
  void failed(int who, const error& err);
  void succeeded(int who);
  // Sleeps for `d` or until stop() (for the keeper, also until the record
  // changes); false on stop.
  bool sleep(std::chrono::milliseconds d, bool keeper = false);
  std::chrono::milliseconds next_backoff(std::chrono::milliseconds x) const;

  provider_settings settings_;
  callback on_event_;
  std::unique_ptr<client> client_;
  std::string prefix_;
  std::string key_;
  // This node's record as put (guarded by sleep_mtx_), and whether it
  // changed since.
  std::string record_json_;
  bool record_changed_ = false;
  std::chrono::milliseconds max_backoff_{1000};

  // Guards the table and the health fields.
  mutable std::mutex mtx_;
  mutable std::condition_variable listed_cv_;
  member_table table_;
  bool listed_ = false;
  bool ok_[2] = {true, true};
  bool outage_ = false;
  std::string last_error_;

  std::atomic<bool> stop_{false};
  std::atomic<int64_t> lease_{0};
  // Bumped by every failed renewal: the watcher then lists again.
  std::atomic<uint64_t> keeper_failures_{0};
  std::mutex sleep_mtx_;
  std::condition_variable sleep_cv_;
  std::mutex life_mtx_;
  bool started_ = false;
  bool stopped_ = false;
  std::thread keeper_;
  std::thread watcher_;
};

} // namespace troupe::cluster::etcd
