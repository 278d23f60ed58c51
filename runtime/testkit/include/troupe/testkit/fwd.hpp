// SPDX-License-Identifier: Apache-2.0
// Forward declarations of troupe::testkit.
#pragma once

namespace troupe::testkit {

class cluster;
struct cluster_options;
class deterministic;

} // namespace troupe::testkit
