// SPDX-License-Identifier: Apache-2.0
// A client of etcd v3's JSON gateway (HTTP/1.1 at /v3/...): leases, puts,
// ranges, deletes and watches.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/etcd/http.hpp"
#include "cluster/etcd/result.hpp"

namespace troupe::cluster::etcd {

/// A key and its value (both as bytes, decoded from the gateway's base64).
struct key_value {
  std::string key;
  std::string value;
  int64_t mod_revision = 0;
  /// The lease the key is attached to (0: none).
  int64_t lease = 0;
};

/// Keys under a prefix, as of `revision`.
struct range_result {
  int64_t revision = 0;
  std::vector<key_value> kvs;
};

/// A granted lease: its id, and the TTL etcd chose (it raises small ones to
/// its minimum, about 1.5 election timeouts).
struct lease_grant {
  int64_t id = 0;
  std::chrono::seconds ttl{0};
};

/// One change a watch reports. A deleted key carries no value.
struct watch_event {
  enum kind { put, del };
  kind type = put;
  key_value kv;
};

/// One message of a watch: the first one says it is `created`; then
/// changes, in revision order.
struct watch_batch {
  bool created = false;
  int64_t revision = 0;
  std::vector<watch_event> events;
};

/// Settings of a client.
struct client_settings {
  /// etcd's client endpoints, tried in turn; the one that last answered
  /// goes first.
  std::vector<endpoint> endpoints;
  /// Bound on each call, across every endpoint it tries; a watch's bound
  /// covers reaching an endpoint and etcd's first answer only.
  std::chrono::milliseconds timeout{2000};
  /// Largest answer the client reads (a range of many members).
  size_t max_answer = 64 * 1024 * 1024;
};

/// Checks `host:port` strings; `errc::invalid` naming the bad one.
result<std::vector<endpoint>>
parse_endpoints(const std::vector<std::string>& xs);

/// Talks to etcd. Every call opens a connection of its own (to the first
/// endpoint that takes it), returns by its timeout, and returns failures as
/// values: nothing it does throws, whatever an endpoint sends. A call moves
/// on to the next endpoint when one is unreachable, silent or answers
/// gibberish, not when etcd answers with an error (`errc::rejected`).
///
/// Thread safety: a client may be used from several threads at once (only
/// the index of the preferred endpoint is shared, atomically). Each call
/// takes a `cancel` function it polls; it runs on the calling thread.
class client {
public:
  explicit client(client_settings settings);

  const client_settings& settings() const noexcept {
    return settings_;
  }

  /// Grants a lease of `ttl` (etcd may raise it).
  result<lease_grant> grant(std::chrono::seconds ttl,
                            const cancel_fn& cancel = {});

  /// Renews `lease`; returns its new TTL, or zero when etcd no longer has
  /// it (it expired or was revoked).
  result<std::chrono::seconds> keep_alive(int64_t lease,
                                          const cancel_fn& cancel = {});

  /// Revokes `lease`, deleting its keys. A lease etcd no longer has is
  /// done too.
  result<done> revoke(int64_t lease, const cancel_fn& cancel = {});

  /// Puts `key` = `value`, under `lease` unless it is 0; returns the
  /// revision of the put.
  result<int64_t> put(std::string_view key, std::string_view value,
                      int64_t lease = 0, const cancel_fn& cancel = {});

  /// Every key that starts with `prefix`.
  result<range_result> range_prefix(std::string_view prefix,
                                    const cancel_fn& cancel = {});

  /// Deletes `key` (every key starting with it if `prefix`); returns how
  /// many keys went.
  result<int64_t> delete_range(std::string_view key, bool prefix = false,
                               const cancel_fn& cancel = {});

  /// Compacts etcd's history up to `revision`: older revisions can no
  /// longer be watched from.
  result<done> compact(int64_t revision, const cancel_fn& cancel = {});

  /// Watches the keys under `prefix` from `start_revision` (0: from now),
  /// handing each message to `on_batch` on the calling thread, until it
  /// returns false (`done`), `cancel`, or a failure: the stream breaks
  /// (`unreachable`), etcd cancels the watch (`rejected`, say for a
  /// compacted revision) or sends what it should not (`bad_response`).
  result<done>
  watch_prefix(std::string_view prefix, int64_t start_revision,
               const std::function<bool(const watch_batch&)>& on_batch,
               const cancel_fn& cancel = {});

private:
  // POSTs to each endpoint in turn until one answers; `parse` turns a 200's
  // JSON into the value (and may throw on a malformed one).
  template <class T, class Parse>
  result<T> call(const std::string& target, const std::string& body,
                 const cancel_fn& cancel, Parse parse);

  client_settings settings_;
  std::atomic<size_t> preferred_{0};
};

/// The first key after every key that starts with `prefix` (etcd's
/// `range_end` for a prefix); empty (all keys) if there is none.
std::string prefix_end(std::string_view prefix);

} // namespace troupe::cluster::etcd
