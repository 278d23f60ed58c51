// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <typeindex>
#include <typeinfo>
#include <unordered_map>

#include <google/protobuf/message.h>

namespace troupe::wire {

/// One Protobuf message type known to a node.
struct type_entry {
  /// Protobuf full name, the type's name on the wire.
  std::string full_name;
  /// C++ type of the generated class.
  const std::type_info* type = nullptr;
  /// Makes a default instance of the generated class.
  std::unique_ptr<google::protobuf::Message> (*make)() = nullptr;
  /// Turns a pointer to the base into a pointer to the generated class
  /// (what CAF's pattern matching casts its `void*` to).
  void* (*downcast)(google::protobuf::Message*) = nullptr;
  /// The reverse: a pointer to the generated class (as CAF hands out a
  /// message element) to a pointer to the base.
  const google::protobuf::Message* (*upcast)(const void*) = nullptr;
};

/// The set of Protobuf message types a node accepts from other nodes.
///
/// Filled before the node starts, then only read: lookups from many threads
/// at once are safe once the node runs, additions are not.
class type_registry {
public:
  /// Adds the generated Protobuf class `T`. Adding it twice is harmless.
  template <class T>
  void add() {
    static_assert(std::is_base_of_v<google::protobuf::Message, T>,
                  "T must be a generated Protobuf message class");
    type_entry e;
    e.full_name = T::descriptor()->full_name();
    e.type = &typeid(T);
    e.make = [] {
      return std::unique_ptr<google::protobuf::Message>{new T};
    };
    e.downcast = [](google::protobuf::Message* x) -> void* {
      return static_cast<T*>(x);
    };
    e.upcast = [](const void* x) -> const google::protobuf::Message* {
      return static_cast<const T*>(x);
    };
    add(std::move(e));
  }

  /// Adds a type described at run time.
  void add(type_entry e);

  /// Returns the entry for `full_name`, or null if the type is unknown.
  const type_entry* find(std::string_view full_name) const;

  /// Returns the entry for a C++ type, or null if the type is unknown.
  const type_entry* find(const std::type_info& type) const;

  /// Number of registered types.
  size_t size() const noexcept {
    return by_name_.size();
  }

  /// Visits every entry.
  template <class F>
  void for_each(F&& f) const {
    for (auto& kvp : by_name_)
      f(*kvp.second);
  }

  /// Largest encoded Protobuf payload this node sends or accepts, in bytes.
  size_t max_message_size = 4 * 1024 * 1024;

private:
  std::unordered_map<std::string_view, std::unique_ptr<type_entry>> by_name_;
  std::unordered_map<std::type_index, const type_entry*> by_type_;
};

} // namespace troupe::wire
