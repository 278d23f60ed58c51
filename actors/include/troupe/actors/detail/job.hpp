// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <functional>
#include <algorithm>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

#include "troupe/actors/pool_error.hpp"
#include "troupe/actors/task_registry.hpp"
#include "troupe/error.hpp"
#include "troupe/wire/proto.hpp"

namespace troupe::actors::detail {

/// One `map` call as the (untyped) pool actor sees it: the typed items,
/// where the results go and how the caller is told. Only the pool actor
/// touches a job once it was sent there; workers in the same process read
/// its items (never written after the job was made).
class job_base {
public:
  using progress_fn = std::function<void(size_t done, size_t total)>;

  job_base(std::string task, size_t size, size_t chunksize,
           progress_fn progress)
    : task_(std::move(task)),
      size_(size),
      chunksize_(chunksize),
      progress_(std::move(progress)) {
  }

  virtual ~job_base() = default;

  const std::string& task_name() const noexcept {
    return task_;
  }

  size_t size() const noexcept {
    return size_;
  }

  size_t chunksize() const noexcept {
    return chunksize_;
  }

  const progress_fn& progress() const noexcept {
    return progress_;
  }

  /// Runs the task on items [begin, end) here (a worker in this process);
  /// returns a message holding `std::vector<Out>`.
  virtual caf::message run(size_t begin, size_t end) const = 0;

  /// Items [begin, end) as Protobuf bytes, for a worker on another node.
  virtual void encode(size_t begin, size_t end,
                      task_registry::bytes* out) const = 0;

  /// Stores results of [begin, begin + n) made by `run`.
  virtual caf::error take(size_t begin, caf::message& results) = 0;

  /// Stores encoded results of [begin, begin + n).
  virtual caf::error take_encoded(size_t begin,
                                  const task_registry::bytes& results) = 0;

  /// The results as a message holding `std::vector<Out>` (moved out).
  virtual caf::message result_message() = 0;

  /// Tells a `std::future` caller (if any) the outcome.
  virtual void finish(const caf::error& err) = 0;

private:
  std::string task_;
  size_t size_;
  size_t chunksize_;
  progress_fn progress_;
};

using job_ptr = std::shared_ptr<job_base>;

template <class In, class Out>
class typed_job final : public job_base {
public:
  typed_job(const actors::task<In, Out>& t, std::vector<In> items, size_t chunksize,
            progress_fn progress, bool with_future)
    : job_base(t.name(), items.size(), chunksize, std::move(progress)),
      fn_(t.fn()),
      items_(std::move(items)),
      results_(items_.size()) {
    if (with_future)
      promise_.emplace();
  }

  std::future<std::vector<Out>> future() {
    return promise_->get_future();
  }

  caf::message run(size_t begin, size_t end) const override {
    std::vector<Out> out;
    out.reserve(end - begin);
    for (auto i = begin; i < end; ++i)
      out.emplace_back(fn_(items_[i]));
    return caf::make_message(std::move(out));
  }

  void encode(size_t begin, size_t end,
              task_registry::bytes* out) const override {
    out->Reserve(static_cast<int>(end - begin));
    for (auto i = begin; i < end; ++i)
      items_[i].SerializeToString(out->Add());
  }

  caf::error take(size_t begin, caf::message& results) override {
    if (!results.match_elements<std::vector<Out>>())
      return troupe::make_error(errc::rejected_message, "task '" + task_name()
                               + "': a worker answered the wrong type");
    auto& xs = results.get_mutable_as<std::vector<Out>>(0);
    return store(begin, xs.size(), [&](size_t i) {
      results_[begin + i] = std::move(xs[i]);
      return true;
    });
  }

  caf::error take_encoded(size_t begin,
                          const task_registry::bytes& xs) override {
    return store(begin, static_cast<size_t>(xs.size()), [&](size_t i) {
      return results_[begin + i].ParseFromString(xs.Get(static_cast<int>(i)));
    });
  }

  caf::message result_message() override {
    return caf::make_message(std::move(results_));
  }

  void finish(const caf::error& err) override {
    if (!promise_)
      return;
    if (err)
      promise_->set_exception(std::make_exception_ptr(pool_error{err}));
    else
      promise_->set_value(std::move(results_));
  }

private:
  template <class F>
  caf::error store(size_t begin, size_t n, F f) {
    auto expected = std::min(chunksize(), size() - begin);
    if (n != expected)
      return troupe::make_error(errc::rejected_message,
                             "task '" + task_name() + "': a worker answered "
                               + std::to_string(n) + " results for "
                               + std::to_string(expected) + " items");
    for (size_t i = 0; i < n; ++i)
      if (!f(i))
        return troupe::make_error(errc::rejected_message,
                               "task '" + task_name() + "': result "
                                 + std::to_string(begin + i)
                                 + " does not decode as "
                                 + Out::descriptor()->full_name());
    return {};
  }

  typename actors::task<In, Out>::function_type fn_;
  std::vector<In> items_;
  std::vector<Out> results_;
  std::optional<std::promise<std::vector<Out>>> promise_;
};

/// A chunk for a worker in this process: items [begin, end) of `job`.
struct local_chunk {
  std::shared_ptr<const job_base> job;
  size_t begin = 0;
  size_t end = 0;
};

/// A local worker's answer: a message holding `std::vector<Out>`.
struct local_result {
  caf::message values;
};

} // namespace troupe::actors::detail

// Both travel only inside a process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::actors::detail::job_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::actors::detail::local_chunk)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::actors::detail::local_result)
