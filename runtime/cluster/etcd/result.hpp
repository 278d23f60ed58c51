// SPDX-License-Identifier: Apache-2.0
// What a call to etcd gives back: a value, or an error that says in words
// what went wrong.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace troupe::cluster::etcd {

/// Kinds of failure of a call to etcd.
enum class errc {
  /// No endpoint accepted a connection (refused, unresolvable, reset).
  unreachable,
  /// An endpoint did not answer within the call's timeout.
  timeout,
  /// etcd answered with an error (its message is in the text).
  rejected,
  /// The answer was not what etcd's JSON gateway sends (not HTTP, not
  /// JSON, missing or mistyped fields, bad base64).
  bad_response,
  /// The caller gave up (its cancel function said so).
  cancelled,
  /// The caller's arguments were wrong (empty cluster name, bad endpoint).
  invalid,
};

/// The short name of `x`, such as `"unreachable"`.
const char* to_string(errc x) noexcept;

/// A failed call: its kind and one line that says what happened.
struct error {
  errc code = errc::unreachable;
  std::string message;
};

/// `"<kind>: <message>"`.
std::string describe(const error& x);

/// A value of type `T` or an `error`. Never throws on access to what it
/// holds when the caller checked first; `value()` on an error is a bug.
template <class T>
class [[nodiscard]] result {
public:
  result(T x)
      : data_(std::move(x)) {}
  result(error x)
      : data_(std::move(x)) {}

  explicit operator bool() const noexcept {
    return data_.index() == 0;
  }
  T& operator*() {
    return std::get<0>(data_);
  }
  const T& operator*() const {
    return std::get<0>(data_);
  }
  T* operator->() {
    return &std::get<0>(data_);
  }
  const T* operator->() const {
    return &std::get<0>(data_);
  }
  const error& err() const {
    return std::get<1>(data_);
  }

private:
  std::variant<T, error> data_;
};

/// A call that gives back nothing but success.
struct done {};

} // namespace troupe::cluster::etcd
