// SPDX-License-Identifier: Apache-2.0
// Durable-state actors: the whole state saved with a revision, by
// compare-and-set.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "troupe/persistence/event_sourced.hpp"

namespace troupe::persistence {

/// An actor whose whole `State` (a Protobuf message) is stored with a
/// revision: `save(state, then)` stores revision + 1 if the stored one is
/// still this actor's (compare-and-set, under its writer epoch), then makes
/// it the state and calls `then(state)`. Recovery loads the stored state.
/// Messages wait in order while a save or the recovery is in flight, as for
/// `event_sourced`.
template <class State>
class durable_state : public persistent_base {
public:
  using init_fn = std::function<caf::behavior(durable_state*)>;

  explicit durable_state(caf::actor_config& cfg, init_fn init = nullptr,
                         std::optional<mailbox_bound> bound = std::nullopt)
    : persistent_base(cfg, bound), init_(std::move(init)) {
  }

  /// Names the stored state; call it from the init function.
  void setup(struct persistence_id id) {
    set_id(std::move(id));
  }

  const State& state() const noexcept {
    return state_;
  }

  /// The stored revision (0: nothing stored yet).
  uint64_t revision() const noexcept {
    return last_sequence_nr();
  }

  const char* name() const override {
    auto type = type_name();
    return type != nullptr ? type : "troupe.durable_state";
  }

  /// Stores `next` as the next revision, then calls `then(state)` (or
  /// `then()`). A save made while an earlier one is in flight waits for it
  /// (saves are stored in the order they were made).
  template <class Then>
  void save(State next, Then then) {
    after_writes([this, next = std::move(next), then = std::move(then)]() mutable {
      detail::journal_job job;
      job.kind = detail::job_kind::save_state;
      job.records.push_back(detail::encode_record(revision() + 1, next));
      write(
        std::move(job),
        [this, next = std::move(next)]() mutable {
          state_ = std::move(next);
          set_last_seq(revision() + 1);
        },
        [this, then = std::move(then)]() mutable {
          if constexpr (std::is_invocable_v<Then&, const State&>)
            then(state_);
          else
            then();
        });
    });
  }

protected:
  bool has_init() const noexcept override {
    return static_cast<bool>(init_);
  }

  caf::behavior start_incarnation() override {
    state_ = State{};
    user_ = guard(init_(this));
    if (pid().empty()) {
      quit(make_error(errc::bad_config,
                      "durable-state actor: the init function must call "
                      "setup(persistence id)"));
      return {};
    }
    return start_recovery(detail::job_kind::recover_state,
                          [this](detail::journal_reply& r) { recovered(r); });
  }

private:
  void recovered(detail::journal_reply& r) {
    if (r.rec.state) {
      const auto& pid = this->pid();
      if (auto err = detail::decode_record(pid, *r.rec.state, state_)) {
        fail_persistence(err, "journal recovery");
        return;
      }
      set_last_seq(r.rec.state->seq);
    }
  }

  init_fn init_;
  State state_;
};

} // namespace troupe::persistence
