// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <caf/detail/behavior_impl.hpp>

namespace troupe {
class actor_base;
} // namespace troupe

namespace troupe::detail {

/// A behavior that runs an inner behavior inside a try block.
///
/// One try block per message costs nothing on the happy path (zero-cost
/// exceptions), which is why the guard wraps the whole behavior rather than
/// each handler.
class guarded_behavior final : public caf::detail::behavior_impl {
public:
  guarded_behavior(actor_base* owner, pointer inner);

  caf::match_case::result invoke(caf::detail::invoke_result_visitor& f,
                                 caf::type_erased_tuple& xs) override;

  void handle_timeout() override;

private:
  actor_base* owner_;
  pointer inner_;
};

} // namespace troupe::detail
