// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <google/protobuf/message.h>
#include <google/protobuf/repeated_ptr_field.h>

namespace troupe::actors {

/// Thrown by a task's encoded runner when an item does not decode.
class undecodable_item : public std::invalid_argument {
public:
  using std::invalid_argument::invalid_argument;
};

/// A typed task function, known to every node of a pool by its `name`.
///
/// Made by `task_registry::add`. A pool runs the function itself on workers
/// in this process and, on other nodes, the function registered there under
/// the same name (as Dask and Celery find tasks by name, not by pointer).
template <class In, class Out>
class task {
public:
  using input_type = In;
  using output_type = Out;
  using function_type = std::function<Out(const In&)>;

  task(std::string name, function_type fn)
    : name_(std::move(name)), fn_(std::move(fn)) {
  }

  const std::string& name() const noexcept {
    return name_;
  }

  const function_type& fn() const noexcept {
    return fn_;
  }

private:
  std::string name_;
  function_type fn_;
};

/// The task functions a node can run for a worker pool, by name.
///
/// Items and results are Protobuf messages: on their way to a worker on
/// another node they travel as Protobuf bytes and are decoded there, so
/// their types need no registration with the node. Within a process they
/// are moved, never encoded.
///
/// Thread safety: fill the registry before the node (or pool) starts;
/// afterwards it is only read, and lookups from any thread are safe.
class task_registry {
public:
  /// Runs a task on encoded items: decodes each `In` from `items[i]`, runs
  /// the function and appends each encoded `Out` to `results`. Throws
  /// `undecodable_item` when an item does not decode; lets the task's own exceptions through.
  using bytes = google::protobuf::RepeatedPtrField<std::string>;
  using wire_fn = std::function<void(const bytes& items, bytes* results)>;

  /// Adds the task `name` (`Out fn(const In&)`), returns its typed handle.
  /// Throws `std::invalid_argument` if the name is empty or taken: a
  /// programming error, found at start-up.
  template <class In, class Out>
  task<In, Out> add(std::string name, std::function<Out(const In&)> fn) {
    static_assert(std::is_base_of_v<google::protobuf::Message, In>
                    && std::is_base_of_v<google::protobuf::Message, Out>,
                  "task items and results must be Protobuf messages");
    if (!fn)
      throw std::invalid_argument("task '" + name + "' has no function");
    wire_fn run = [name, fn](const bytes& items, bytes* results) {
      results->Reserve(items.size());
      In in;
      for (int i = 0; i < items.size(); ++i) {
        in.Clear();
        if (!in.ParseFromString(items.Get(i)))
          throw undecodable_item(
            "task '" + name + "': item " + std::to_string(i)
            + " does not decode as " + In::descriptor()->full_name());
        fn(in).SerializeToString(results->Add());
      }
    };
    add_entry(name, In::descriptor()->full_name(),
              Out::descriptor()->full_name(), std::move(run));
    return task<In, Out>{std::move(name), std::move(fn)};
  }

  /// Shorthand for a lambda or function pointer.
  template <class In, class Out, class F>
  task<In, Out> add(std::string name, F fn) {
    return add<In, Out>(std::move(name), std::function<Out(const In&)>{
                                           std::move(fn)});
  }

  /// The encoded runner of `name`, or null when no such task is here.
  const wire_fn* find(const std::string& name) const;

  /// The registered task names, sorted.
  std::vector<std::string> names() const;

  /// "in -> out" Protobuf type names of `name`, empty if unknown.
  std::string signature(const std::string& name) const;

private:
  struct entry {
    std::string in_type;
    std::string out_type;
    wire_fn run;
  };

  void add_entry(const std::string& name, std::string in_type,
                 std::string out_type, wire_fn run);

  std::unordered_map<std::string, entry> entries_;
};

/// Registries are shared by pools and workers.
using task_registry_ptr = std::shared_ptr<const task_registry>;

} // namespace troupe::actors
