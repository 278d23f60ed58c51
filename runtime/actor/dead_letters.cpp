// SPDX-License-Identifier: Apache-2.0
#include "actor/dead_letters.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

namespace troupe::detail {

const char* to_string(dead_letter x) noexcept {
  switch (x) {
    case dead_letter::node_down:
      return "node_down";
    case dead_letter::name_not_found:
      return "name_not_found";
    case dead_letter::actor_gone:
      return "actor_gone";
    case dead_letter::mailbox_full:
      return "mailbox_full";
  }
  return "unknown";
}

uint64_t letter_counts::dead_total() const noexcept {
  uint64_t n = 0;
  for (auto& x : dead)
    n += x.load(std::memory_order_relaxed);
  return n;
}

letter_counts* letters_of(const caf::actor_system& sys) noexcept {
  auto book = dynamic_cast<const letter_book*>(&sys.config());
  return book != nullptr ? &book->letters : nullptr;
}

uint64_t count_dead_letter(const caf::actor_system& sys, dead_letter why,
                           uint64_t n) noexcept {
  auto counts = letters_of(sys);
  return counts != nullptr ? counts->count(why, n) : 0;
}

} // namespace troupe::detail
