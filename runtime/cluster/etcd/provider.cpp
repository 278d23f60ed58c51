// SPDX-License-Identifier: Apache-2.0
// The etcd membership provider: its keeper (lease, record, renewals) and
// its watcher (listing, watch, events), and what they do when etcd is gone.
#include "cluster/etcd/provider.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "troupe/log.hpp"

namespace troupe::cluster::etcd {

namespace {

constexpr std::chrono::milliseconds first_backoff{100};

enum role { keeper_role = 0, watcher_role = 1 };

std::string join(const std::vector<std::string>& xs) {
  std::string out;
  for (auto& x : xs)
    out += (out.empty() ? "" : ",") + x;
  return out;
}

} // namespace

provider::provider(provider_settings settings, callback on_event)
    : settings_(std::move(settings))
    , on_event_(std::move(on_event)) {}

provider::~provider() {
  stop();
}

result<done> provider::start() {
  std::lock_guard<std::mutex> guard{life_mtx_};
  if (started_)
    return error{errc::invalid, "the provider was started before"};
  if (auto ok = check_key_part("cluster name", settings_.cluster); !ok)
    return ok.err();
  if (auto ok = check_key_part("member name", settings_.self.name); !ok)
    return ok.err();
  if (settings_.lease_ttl.count() < 1)
    return error{errc::invalid, "the lease TTL must be at least 1 s"};
  auto eps = parse_endpoints(settings_.endpoints);
  if (!eps)
    return eps.err();
  using std::chrono::milliseconds;
  auto ttl = std::chrono::duration_cast<milliseconds>(settings_.lease_ttl);
  auto third = ttl / 3;
  client_settings cs;
  cs.endpoints = std::move(*eps);
  cs.timeout = settings_.call_timeout.count() > 0
                   ? settings_.call_timeout
                   : std::clamp(ttl / 2, milliseconds{500}, milliseconds{5000});
  client_ = std::make_unique<client>(std::move(cs));
  max_backoff_ = settings_.max_backoff.count() > 0
                     ? settings_.max_backoff
                     : std::max(third, first_backoff);
  prefix_ = members_prefix(settings_.cluster);
  key_ = member_key_of(settings_.cluster, settings_.self.name);
  {
    std::lock_guard<std::mutex> sleep_guard{sleep_mtx_};
    record_json_ = to_json(settings_.self);
  }
  started_ = true;
  keeper_ = std::thread{[this] {
    keep();
  }};
  watcher_ = std::thread{[this] {
    watch();
  }};
  return done{};
}

void provider::stop() {
  shutdown(true);
}

void provider::crash_for_testing() {
  shutdown(false);
}

void provider::shutdown(bool revoke) {
  std::lock_guard<std::mutex> guard{life_mtx_};
  if (!started_ || stopped_)
    return;
  stopped_ = true;
  {
    std::lock_guard<std::mutex> sleep_guard{sleep_mtx_};
    stop_ = true;
  }
  sleep_cv_.notify_all();
  // Each thread polls stop_ during its calls, every few tens of ms.
  keeper_.join();
  watcher_.join();
  auto lease = lease_.load();
  if (!revoke || lease == 0)
    return;
  if (auto res = client_->revoke(lease); !res)
    log(log_level::warn,
        fmt::format("etcd membership of {} in cluster {}: could not revoke "
                    "lease {} ({}); the others see this member leave when it "
                    "expires",
                    settings_.self.name, settings_.cluster, lease,
                    describe(res.err())));
}

std::vector<member_record> provider::view() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return table_.members();
}

provider_health provider::health() const {
  std::lock_guard<std::mutex> guard{mtx_};
  provider_health out;
  out.reachable = !outage_;
  out.listed = listed_;
  out.last_error = last_error_;
  out.members = table_.size();
  out.lease = lease_.load();
  return out;
}

bool provider::await_listed(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> guard{mtx_};
  return listed_cv_.wait_for(guard, timeout, [this] {
    return listed_;
  });
}

bool provider::sleep(std::chrono::milliseconds d, bool keeper) {
  std::unique_lock<std::mutex> guard{sleep_mtx_};
  sleep_cv_.wait_for(guard, d, [this, keeper] {
    return stop_.load() || (keeper && record_changed_);
  });
  return !stop_;
}

result<done> provider::update_self(member_record self) {
  if (self.name != settings_.self.name)
    return error{errc::invalid,
                 fmt::format("a provider keeps its member name ({}, not {})",
                             settings_.self.name, self.name)};
  {
    std::lock_guard<std::mutex> guard{sleep_mtx_};
    record_json_ = to_json(self);
    record_changed_ = true;
  }
  sleep_cv_.notify_all();
  return done{};
}

std::chrono::milliseconds
provider::next_backoff(std::chrono::milliseconds x) const {
  return std::min(x * 2, max_backoff_);
}

void provider::failed(int who, const error& err) {
  std::lock_guard<std::mutex> guard{mtx_};
  ok_[who] = false;
  last_error_ = describe(err);
  if (outage_)
    return;
  outage_ = true;
  log(log_level::warn,
      fmt::format("etcd unreachable ({}; {}): keeping the last view of {} "
                  "members ({} in cluster {}); retrying every {} ms at most",
                  join(settings_.endpoints), last_error_, table_.size(),
                  settings_.self.name, settings_.cluster,
                  max_backoff_.count()));
}

void provider::succeeded(int who) {
  std::lock_guard<std::mutex> guard{mtx_};
  ok_[who] = true;
  if (!outage_ || !ok_[keeper_role] || !ok_[watcher_role])
    return;
  outage_ = false;
  log(log_level::info,
      fmt::format("etcd reachable again ({}): {} members after resync ({} in "
                  "cluster {})",
                  join(settings_.endpoints), table_.size(), settings_.self.name,
                  settings_.cluster));
}

void provider::keep() {
  auto cancel = [this] {
    return stop_.load();
  };
  auto backoff = first_backoff;
  int64_t lease = 0;
  bool put = false;
  std::chrono::milliseconds interval{1000};
  while (!stop_) {
    std::optional<error> err;
    if (lease == 0) {
      if (auto grant = client_->grant(settings_.lease_ttl, cancel)) {
        lease = grant->id;
        lease_ = lease;
        put = false;
        interval = std::max(
            std::chrono::duration_cast<std::chrono::milliseconds>(grant->ttl) /
                3,
            first_backoff);
      } else {
        err = grant.err();
      }
    }
    std::string record;
    {
      std::lock_guard<std::mutex> guard{sleep_mtx_};
      if (record_changed_)
        put = false;
      record_changed_ = false;
      record = record_json_;
    }
    if (!err && !put) {
      if (auto res = client_->put(key_, record, lease, cancel)) {
        put = true;
      } else {
        err = res.err();
        // etcd refused the put: the lease expired before the record was
        // put under it. Grant another.
        if (err->code == errc::rejected)
          lease = 0;
      }
    } else if (!err) {
      auto ttl = client_->keep_alive(lease, cancel);
      if (!ttl) {
        err = ttl.err();
      } else if (ttl->count() == 0) {
        log(log_level::warn,
            fmt::format("etcd membership of {} in cluster {}: lease {} "
                        "expired; granting a new one and putting the record "
                        "again",
                        settings_.self.name, settings_.cluster, lease));
        lease = 0;
        continue;
      }
    }
    if (stop_)
      break;
    if (err) {
      ++keeper_failures_;
      failed(keeper_role, *err);
      sleep(backoff, true);
      backoff = next_backoff(backoff);
      continue;
    }
    backoff = first_backoff;
    succeeded(keeper_role);
    sleep(interval, true);
  }
}

void provider::watch() {
  auto stopping = [this] {
    return stop_.load();
  };
  auto backoff = first_backoff;
  while (!stop_) {
    auto listing = client_->range_prefix(prefix_, stopping);
    if (!listing) {
      if (stop_)
        break;
      failed(watcher_role, listing.err());
      sleep(backoff);
      backoff = next_backoff(backoff);
      continue;
    }
    auto records = records_of(listing->kvs);
    std::vector<member_event> events;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      events = table_.reset(records);
      listed_ = true;
    }
    listed_cv_.notify_all();
    emit(events);
    succeeded(watcher_role);
    // A failed renewal ends the watch too: a cut connection may leave it
    // open and silent.
    auto seen = keeper_failures_.load();
    auto cancel = [this, seen] {
      return stop_.load() || keeper_failures_.load() != seen;
    };
    auto started = clock::now();
    auto res = client_->watch_prefix(
        prefix_, listing->revision + 1,
        [this](const watch_batch& batch) {
          emit(apply(batch));
          return true;
        },
        cancel);
    if (stop_)
      break;
    if (res || res.err().code == errc::cancelled)
      continue; // list again at once
    if (res.err().code == errc::rejected) {
      // etcd answers but ended the watch (its start was compacted away
      // between the listing and the watch): list again, no outage.
      log(log_level::info,
          fmt::format("etcd membership of {} in cluster {}: {}; listing "
                      "again",
                      settings_.self.name, settings_.cluster,
                      describe(res.err())));
    } else {
      failed(watcher_role, res.err());
    }
    // A watch that breaks as soon as it starts is not retried in a loop.
    if (clock::now() - started > max_backoff_)
      backoff = first_backoff;
    sleep(backoff);
    backoff = next_backoff(backoff);
  }
}

std::optional<member_record> provider::record_of(const key_value& kv) {
  auto name = std::string_view{kv.key}.substr(prefix_.size());
  auto rec = parse_member_record(kv.value);
  const char* why = nullptr;
  if (!rec)
    why = "malformed";
  else if (rec->name != name)
    why = "named after another member";
  if (why == nullptr)
    return std::move(*rec);
  log(log_level::warn,
      fmt::format("etcd membership of {} in cluster {}: ignoring the {} "
                  "record at {} (revision {}){}",
                  settings_.self.name, settings_.cluster, why, kv.key,
                  kv.mod_revision, rec ? "" : ": " + rec.err().message));
  return std::nullopt;
}

std::vector<member_record>
provider::records_of(const std::vector<key_value>& kvs) {
  std::vector<member_record> out;
  for (auto& kv : kvs)
    if (kv.key.size() > prefix_.size() &&
        kv.key.compare(0, prefix_.size(), prefix_) == 0)
      if (auto rec = record_of(kv))
        out.push_back(std::move(*rec));
  return out;
}

std::vector<member_event> provider::apply(const watch_batch& batch) {
  std::vector<member_event> out;
  for (auto& ev : batch.events) {
    auto& key = ev.kv.key;
    if (key.size() <= prefix_.size() ||
        key.compare(0, prefix_.size(), prefix_) != 0)
      continue;
    std::optional<member_record> rec;
    if (ev.type == watch_event::put && !(rec = record_of(ev.kv)))
      continue;
    std::lock_guard<std::mutex> guard{mtx_};
    auto xs =
        rec ? table_.put(*rec) : table_.remove(key.substr(prefix_.size()));
    out.insert(out.end(), xs.begin(), xs.end());
  }
  return out;
}

void provider::emit(const std::vector<member_event>& events) {
  if (!on_event_)
    return;
  for (auto& ev : events) {
    try {
      on_event_(ev);
    } catch (const std::exception& e) {
      log(log_level::error,
          fmt::format("etcd membership of {} in cluster {}: the event "
                      "callback threw on {} {}: {}",
                      settings_.self.name, settings_.cluster,
                      to_string(ev.type), ev.member.name, e.what()));
    } catch (...) {
      log(log_level::error,
          fmt::format("etcd membership of {} in cluster {}: the event "
                      "callback threw on {} {}",
                      settings_.self.name, settings_.cluster,
                      to_string(ev.type), ev.member.name));
    }
  }
}

} // namespace troupe::cluster::etcd
