// SPDX-License-Identifier: Apache-2.0
// The waiting, replying and failing that event-sourced and durable-state
// actors share.
#include "troupe/persistence/persistent_actor.hpp"

#include <chrono>
#include <mutex>
#include <unordered_set>

#include <caf/actor_system.hpp>
#include <caf/make_message.hpp>
#include <caf/skip.hpp>
#include <fmt/format.h>

#include "troupe/error.hpp"
#include "troupe/log.hpp"

namespace troupe::persistence {

namespace {

using retry_atom = caf::atom_constant<caf::atom("trp_jretry")>;

constexpr int max_recovery_tries = 6;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

} // namespace

persistent_base::persistent_base(caf::actor_config& cfg,
                                 std::optional<mailbox_bound> bound)
  : actor_base(cfg, bound), svc_(journal_service_of(home_system())) {
}

persistent_base::~persistent_base() = default;

namespace {

/// `type` as a C string that lives as long as the process: what `name()`
/// returns must outlive a restart in place that sets the id again. The set
/// is never destroyed (one string per type of persistent actor), so that a
/// node that ends during static destruction can still name its actors.
const char* intern_type_name(const std::string& type) {
  struct interned {
    std::mutex mtx;
    std::unordered_set<std::string> names; // its nodes never move
  };
  static auto* table = new interned; // never freed: see above
  std::lock_guard<std::mutex> guard{table->mtx};
  return table->names.insert(type).first->c_str();
}

} // namespace

void persistent_base::set_id(struct persistence_id id) {
  auto type = id.type.empty() ? nullptr : intern_type_name(id.type);
  auto pid = id.str();
  id_ = std::move(id);
  {
    std::lock_guard<std::mutex> guard{id_mtx_};
    pid_ = std::move(pid);
  }
  type_name_.store(type, std::memory_order_release);
}

caf::invoke_message_result persistent_base::consume(caf::mailbox_element& x) {
  // Remember who asked, before a response promise takes the sender away:
  // a failed write answers them.
  if (x.mid.is_request()) {
    current_asker_ = x.sender;
    current_mid_ = x.mid;
  } else {
    current_asker_.reset();
  }
  return actor_base::consume(x);
}

caf::behavior persistent_base::waiting_behavior() {
  if (!waiting_)
    waiting_ = guard(caf::behavior{
      [this](journal_reply_atom, detail::journal_reply& r) { on_reply(r); },
      [this](retry_atom) { retry_recovery(); },
    });
  return waiting_;
}

void persistent_base::skip_others() {
  if (!skipping_) {
    saved_default_ = default_handler_;
    set_default_handler(caf::skip);
    skipping_ = true;
  }
}

void persistent_base::enter_waiting() {
  skip_others();
  install(waiting_behavior());
}

void persistent_base::leave_waiting() {
  if (skipping_) {
    default_handler_ = std::move(saved_default_);
    skipping_ = false;
  }
  install(user_);
}

void persistent_base::install(const caf::behavior& bhvr) {
  caf::event_based_actor::become(bhvr);
}

caf::behavior persistent_base::start_recovery(detail::job_kind kind,
                                              continuation done) {
  recovery_kind_ = kind;
  recovery_tries_ = 0;
  recovery_started_ns_ = now_ns();
  recovery_ns_.store(-1, std::memory_order_relaxed);
  set_last_seq(0);
  set_epoch(0);
  skip_others();
  pending_ = [this, done = std::move(done)](detail::journal_reply& r) {
    if (r.err) {
      fail_persistence(r.err, "journal recovery");
      return;
    }
    set_epoch(r.rec.epoch);
    done(r);
  };
  recovering_ = true;
  retry_recovery();
  return waiting_behavior();
}

void persistent_base::retry_recovery() {
  if (!recovering_)
    return;
  ++recovery_tries_;
  detail::journal_job job;
  job.kind = recovery_kind_;
  job.pid = pid_;
  job.reply_to = ctrl();
  job.tag = ++tag_;
  if (!svc_) {
    auto r = detail::journal_reply{tag_,
                                   make_error(errc::persistence_failed,
                                              "no journal: the actor system "
                                              "has no journal service "
                                              "(node setting 'journal')"),
                                   {}};
    on_reply(r);
    return;
  }
  svc_->submit(std::move(job));
}

caf::behavior persistent_base::make_behavior() {
  return has_init() ? start_incarnation() : caf::behavior{};
}

bool persistent_base::can_restart_in_place() const noexcept {
  return has_init();
}

bool persistent_base::try_restart_in_place(const caf::error&) {
  if (!has_init())
    return false;
  drop_pending();
  if (auto bhvr = start_incarnation())
    install(bhvr);
  return true;
}

void persistent_base::on_exit() {
  // An exit message is taken even while a write is in flight, so the actor
  // can end with one pending. The continuation of that write (and of each
  // write queued behind it) holds the requester's response promise, and a
  // response promise holds a strong handle to this actor: a cycle that
  // would keep the ended actor, its state and the journal service (with
  // its open database) alive for good. CAF drops its own behavior stack
  // here; this drops what troupe keeps besides.
  drop_pending();
  current_asker_.reset();
  user_ = caf::behavior{};
  waiting_ = caf::behavior{};
  saved_default_ = nullptr;
  svc_.reset();
  actor_base::on_exit();
}

void persistent_base::after_writes(std::function<void()> start) {
  if (!waiting()) {
    start();
    return;
  }
  deferred_.push_back({std::move(start), current_asker_, current_mid_});
}

void persistent_base::write(detail::journal_job job,
                            std::function<void()> apply,
                            std::function<void()> then) {
  asker_ = current_asker_;
  asker_mid_ = current_mid_;
  job.pid = pid_;
  job.epoch = writer_epoch();
  job.reply_to = ctrl();
  job.tag = ++tag_;
  pending_ = [this, apply = std::move(apply),
              then = std::move(then)](detail::journal_reply& r) {
    if (r.err) {
      fail_persistence(r.err, "journal write");
      return;
    }
    asker_.reset();
    apply();
    // The next queued write goes first: one that `then` makes queues
    // behind it, in call order. It answers its own requester if it fails.
    if (!deferred_.empty()) {
      auto next = std::move(deferred_.front());
      deferred_.pop_front();
      current_asker_ = std::move(next.asker);
      current_mid_ = next.mid;
      next.start();
      current_asker_.reset();
    }
    then();
  };
  enter_waiting();
  if (!svc_) {
    auto r = detail::journal_reply{tag_,
                                   make_error(errc::persistence_failed,
                                              "no journal service"),
                                   {}};
    on_reply(r);
    return;
  }
  svc_->submit(std::move(job));
}

void persistent_base::write_async(detail::journal_job job) {
  if (!svc_)
    return;
  job.pid = pid_;
  job.epoch = writer_epoch();
  svc_->submit(std::move(job));
}

void persistent_base::on_reply(detail::journal_reply& r) {
  if (!pending_ || r.tag != tag_)
    return; // the reply of an incarnation that was restarted since
  if (recovering_ && r.err
      && (is(r.err, errc::persistence_failed)
          || is(r.err, errc::transaction_conflict))
      && recovery_tries_ < max_recovery_tries) {
    auto delay = std::chrono::milliseconds{50 << (recovery_tries_ - 1)};
    log(log_level::warn,
        fmt::format("persistent actor '{}': recovery failed ({}), retrying in "
                    "{} ms",
                    pid_, describe(r.err), delay.count()));
    delayed_send(this, delay, retry_atom::value);
    return;
  }
  if (recovering_) {
    recovering_ = false;
    recovery_ns_.store(now_ns() - recovery_started_ns_,
                       std::memory_order_relaxed);
  }
  auto k = std::move(pending_);
  pending_ = nullptr;
  leave_waiting();
  k(r);
}

void persistent_base::fail_persistence(const caf::error& err,
                                       const char* what) {
  if (asker_) {
    asker_->enqueue(ctrl(), asker_mid_.response_id(), caf::make_message(err),
                    context());
    asker_.reset();
  }
  if (is(err, errc::writer_fenced)) {
    log(log_level::warn,
        fmt::format("persistent actor '{}' stops: a newer incarnation took "
                    "its writer epoch ({})",
                    pid_, describe(err)));
    quit(err);
    return;
  }
  handle_failure(describe(err), what);
}

void persistent_base::drop_pending() {
  pending_ = nullptr;
  deferred_.clear();
  recovering_ = false;
  ++tag_;
  asker_.reset();
  if (skipping_) {
    default_handler_ = std::move(saved_default_);
    skipping_ = false;
  }
}

} // namespace troupe::persistence
