// SPDX-License-Identifier: Apache-2.0
// A node's lost messages, counted where they are lost: by the actor layer
// (an ended actor's mailbox, a bounded mailbox), and above it by stable
// handles, troupe handles and direct links. The counts live on the node's
// CAF config (node/caf_config.hpp mixes `letter_book` in), since all a
// mailbox can see is its actor system.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include <caf/fwd.hpp>

namespace troupe::detail {

/// Why a one-way message reached no handler.
enum class dead_letter : uint8_t {
  /// Its receiver is on a node that is down (or its link closed with it).
  node_down,
  /// It was sent to a cluster-wide name nobody holds.
  name_not_found,
  /// Its receiver had ended.
  actor_gone,
  /// A bounded mailbox discarded it.
  mailbox_full,
};

constexpr size_t dead_letter_reasons = 4;

/// Returns the reason's label, such as `"actor_gone"`.
const char* to_string(dead_letter x) noexcept;

/// What a node counts of the messages it lost (relaxed atomics: any thread
/// adds, readers take a snapshot).
struct letter_counts {
  std::array<std::atomic<uint64_t>, dead_letter_reasons> dead{};
  /// Messages (one-way and requests) that bounded mailboxes discarded.
  std::atomic<uint64_t> mailbox_dropped{0};

  uint64_t dead_total() const noexcept;

  uint64_t of(dead_letter why) const noexcept {
    return dead[static_cast<size_t>(why)].load(std::memory_order_relaxed);
  }

  /// Counts `n` of `why`; returns the count of that reason so far.
  uint64_t count(dead_letter why, uint64_t n = 1) noexcept {
    return dead[static_cast<size_t>(why)].fetch_add(n,
                                                    std::memory_order_relaxed)
           + n;
  }
};

/// Mixed into an actor system's config to give its node the counts.
class letter_book {
public:
  virtual ~letter_book() = default;

  mutable letter_counts letters;
};

/// The counts of `sys`, or null when its config has no `letter_book`.
letter_counts* letters_of(const caf::actor_system& sys) noexcept;

/// Counts `n` dead letters of `why` on `sys`'s node; returns the node's
/// count of that reason so far (0 when `sys` keeps none), so that callers
/// can log the first and then every thousandth.
uint64_t count_dead_letter(const caf::actor_system& sys, dead_letter why,
                           uint64_t n = 1) noexcept;

} // namespace troupe::detail
