// SPDX-License-Identifier: Apache-2.0
// Event-sourced actors: Protobuf events stored before they change the state,
// replayed on recovery.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "troupe/error.hpp"
#include "troupe/persistence/persistent_actor.hpp"

namespace troupe::persistence {

/// When an event-sourced actor stores a snapshot of its state.
struct snapshot_policy {
  /// A snapshot after every `every` events (0: never).
  uint64_t every = 0;
  /// Snapshots kept (older ones are deleted with each new one).
  uint32_t keep = 2;
  /// Opt-in: delete the events up to the oldest kept snapshot.
  bool delete_events = false;
};

namespace detail {

/// Decodes a stored record as `T`, or says which record could not be read.
template <class T>
caf::error decode_record(const std::string& pid, const record& x, T& out) {
  const auto& want = T::descriptor()->full_name();
  if (x.type != want)
    return make_error(errc::persistence_failed,
                      "persistence id '" + pid + "' sequence number "
                        + std::to_string(x.seq) + ": unknown type '" + x.type
                        + "' (expected '" + want + "')");
  if (!out.ParseFromString(x.bytes))
    return make_error(errc::persistence_failed,
                      "persistence id '" + pid + "' sequence number "
                        + std::to_string(x.seq) + ": corrupt bytes for '"
                        + x.type + "'");
  return {};
}

template <class T>
record encode_record(uint64_t seq, const T& x) {
  record out;
  out.seq = seq;
  out.type = T::descriptor()->full_name();
  x.SerializeToString(&out.bytes);
  return out;
}

} // namespace detail

/// An actor whose `State` (a Protobuf message) is the fold of its `Event`s
/// (a Protobuf message; a `oneof` holds the kinds) by a pure `apply`.
///
/// The init function (see `troupe::spawn`) calls `setup` with the
/// persistence id and `apply`, and returns the behavior. Before the first
/// message, the actor recovers: it takes a new writer epoch, loads the
/// newest snapshot and replays the events after it. Handlers change the
/// state only through `persist(events, then)`: the events are stored
/// atomically, then applied, then `then(state)` runs, so that a requester
/// answered from `then` is answered only after its change is durable.
/// Meanwhile other messages wait in order. A restart in place recovers again
/// from what was stored.
template <class State, class Event>
class event_sourced : public persistent_base {
public:
  using init_fn = std::function<caf::behavior(event_sourced*)>;
  using apply_fn = std::function<void(State&, const Event&)>;

  explicit event_sourced(caf::actor_config& cfg, init_fn init = nullptr,
                         std::optional<mailbox_bound> bound = std::nullopt)
    : persistent_base(cfg, bound), init_(std::move(init)) {
  }

  /// Names the stored state and the fold; call it from the init function.
  void setup(struct persistence_id id, apply_fn apply, snapshot_policy policy = {}) {
    set_id(std::move(id));
    apply_ = std::move(apply);
    policy_ = policy;
  }

  /// Runs `fn(self)` once recovered, before the first message.
  void on_recovered(std::function<void(event_sourced*)> fn) {
    on_recovered_ = std::move(fn);
  }

  /// The state: the fold of every stored event.
  const State& state() const noexcept {
    return state_;
  }

  const char* name() const override {
    auto type = type_name();
    return type != nullptr ? type : "troupe.event_sourced";
  }

  /// Stores `ev`, applies it, then calls `then(state)` (or `then()`).
  template <class Then>
  void persist(Event ev, Then then) {
    std::vector<Event> evs;
    evs.push_back(std::move(ev));
    persist(std::move(evs), std::move(then));
  }

  /// Stores `evs` atomically (all or none), applies them in order, then
  /// calls `then(state)` (or `then()`). A handler may persist several
  /// times: a call made while an earlier write is in flight waits for it
  /// (the calls are stored in the order they were made, each after the
  /// `then` of the previous one applied its events).
  template <class Then>
  void persist(std::vector<Event> evs, Then then) {
    after_writes([this, evs = std::move(evs), then = std::move(then)]() mutable {
      if (evs.empty()) {
        call(then);
        return;
      }
      detail::journal_job job;
      job.kind = detail::job_kind::append;
      auto seq = last_sequence_nr();
      for (auto& ev : evs)
        job.records.push_back(detail::encode_record(++seq, ev));
      write(
        std::move(job),
        [this, evs = std::move(evs)] {
          for (auto& ev : evs)
            apply_(state_, ev);
          set_last_seq(last_sequence_nr() + evs.size());
          maybe_snapshot();
        },
        [this, then = std::move(then)]() mutable { call(then); });
    });
  }

protected:
  bool has_init() const noexcept override {
    return static_cast<bool>(init_);
  }

  caf::behavior start_incarnation() override {
    state_ = State{};
    snapshots_.clear();
    apply_ = nullptr;
    on_recovered_ = nullptr;
    user_ = guard(init_(this));
    if (!apply_ || pid().empty()) {
      quit(make_error(errc::bad_config,
                      "event-sourced actor: the init function must call "
                      "setup(persistence id, apply)"));
      return {};
    }
    return start_recovery(detail::job_kind::recover_events,
                          [this](detail::journal_reply& r) { recovered(r); });
  }

private:
  template <class Then>
  void call(Then& then) {
    if constexpr (std::is_invocable_v<Then&, const State&>)
      then(state_);
    else
      then();
  }

  void recovered(detail::journal_reply& r) {
    auto& rec = r.rec;
    const auto& pid = this->pid();
    if (rec.snapshot) {
      if (auto err = detail::decode_record(pid, *rec.snapshot, state_)) {
        fail_persistence(err, "journal recovery");
        return;
      }
      snapshots_.push_back(rec.snapshot->seq);
    }
    Event ev;
    for (auto& x : rec.events) {
      ev.Clear();
      if (auto err = detail::decode_record(pid, x, ev)) {
        fail_persistence(err, "journal recovery");
        return;
      }
      apply_(state_, ev);
    }
    set_last_seq(rec.highest_seq);
    if (on_recovered_)
      on_recovered_(this);
  }

  void maybe_snapshot() {
    if (policy_.every == 0)
      return;
    auto last = last_sequence_nr();
    auto prev = snapshots_.empty() ? 0 : snapshots_.back();
    if (last - prev < policy_.every)
      return;
    snapshots_.push_back(last);
    auto keep = std::max<uint32_t>(policy_.keep, 1);
    while (snapshots_.size() > keep)
      snapshots_.pop_front();
    detail::journal_job job;
    job.kind = detail::job_kind::snapshot;
    job.records.push_back(detail::encode_record(last, state_));
    job.keep = keep;
    if (policy_.delete_events)
      job.delete_to = snapshots_.front();
    write_async(std::move(job));
  }

  init_fn init_;
  apply_fn apply_;
  snapshot_policy policy_;
  std::function<void(event_sourced*)> on_recovered_;
  State state_;
  /// Sequence numbers of the snapshots this incarnation knows are kept.
  std::deque<uint64_t> snapshots_;
};

} // namespace troupe::persistence
