// SPDX-License-Identifier: Apache-2.0
// The guard's admission decision, on made-up counts.
#include "transport/guard.hpp"

#include <gtest/gtest.h>

using troupe::transport::admission;
using troupe::transport::admit_decision;
using troupe::transport::guard_settings;

namespace {

guard_settings limits(size_t max_connections, size_t max_handshaking) {
  guard_settings cfg;
  cfg.max_connections = max_connections;
  cfg.max_handshaking = max_handshaking;
  return cfg;
}

} // namespace

TEST(Guard, AdmitsWhileUnderBothBounds) {
  EXPECT_EQ(admit_decision(0, 0, limits(4, 2)), admission::admit);
  EXPECT_EQ(admit_decision(3, 1, limits(4, 2)), admission::admit);
}

TEST(Guard, TooManyInTheirHandshakeDisplacesTheOldestOfThem) {
  // Room in total, but the handshaking budget is spent.
  EXPECT_EQ(admit_decision(2, 2, limits(512, 2)),
            admission::admit_displacing_oldest);
}

TEST(Guard, AFullNodeDisplacesAConnectionStillInItsHandshake) {
  EXPECT_EQ(admit_decision(4, 1, limits(4, 64)),
            admission::admit_displacing_oldest);
}

TEST(Guard, AFullNodeOfHandshakenPeersRefuses) {
  EXPECT_EQ(admit_decision(4, 0, limits(4, 64)), admission::refuse);
  EXPECT_EQ(admit_decision(9, 0, limits(4, 64)), admission::refuse);
}
