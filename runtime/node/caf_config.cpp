// SPDX-License-Identifier: Apache-2.0
// The CAF configuration a node hands to its actor system (caf_config.hpp).
#include "node/caf_config.hpp"

#include "actor/inline_run.hpp"
#include "node/scheduler.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <caf/atom.hpp>
#include <caf/config_option_adder.hpp>
#include <caf/timespan.hpp>

#include "troupe/error.hpp"
#include "troupe/node/node_config.hpp"
#include "wire/troupe_types.hpp"

namespace troupe::detail {

void node_caf_config::add_troupe_types() {
  wire::detail::add_troupe_types(types);
}

void node_caf_config::apply(const node_config& cfg) {
  auto threads = cfg.threads != 0
                   ? cfg.threads
                   : std::max(1u, std::thread::hardware_concurrency());
  set("scheduler.max-threads", threads);
  if (cfg.troupe_scheduler)
    module_factories.push_back(make_scheduler);
  // The runtime's threads never run an actor for a requester (see
  // actor/inline_run.hpp): whichever scheduler runs, and the multiplexer.
  add_thread_hook<runtime_thread_hook>();
  // Measured in tools/bench (see docs/benchmarks.md): idle workers that
  // yield instead of sleeping 50 us answer a wake-up far sooner (remote
  // round trips 2.8x, local ping-pong 1.2x), and capping a resumed actor at
  // 100 messages keeps fan-in on two threads level with CAF's four.
  set("work-stealing.moderate-sleep-duration", caf::timespan{0});
  set("scheduler.max-throughput", size_t{100});
  set("logger.console", caf::atom("none"));
  // How long a requesting thread polls for its answer (actor/requester.cpp).
  // CAF refuses to set an option it was not told of.
  if (custom_options_.qualified_name_lookup("troupe.request-spin-us")
      == nullptr)
    caf::config_option_adder{custom_options_, "troupe"}.add<int64_t>(
      "request-spin-us", "most microseconds a requester polls for its answer");
  set("troupe.request-spin-us", static_cast<int64_t>(cfg.request_spin.count()));
  // Mesh detection (`--detection mesh`): failure detection on every link,
  // the same on all nodes: CAF 0.17 ships with heartbeats off, and closes
  // a link only on its own timeout, so both sides must send (the daemon
  // refuses joiners whose settings clash). Gossip detection (the default):
  // a node hears only from the few members it watches, and links carry no
  // heartbeats: BASP's are off (its timeout check runs on its heartbeat
  // tick, so it is off too), and an idle cluster costs each node the same
  // whatever its size. A link then drops only when the kernel closes it
  // (the peer died).
  auto& fd = cfg.failure_detector;
  set("middleman.heartbeat-interval",
      caf::timespan{fd.gossip ? caf::timespan{0}
                              : std::chrono::duration_cast<caf::timespan>(
                                  fd.heartbeat_interval)});
  set("middleman.connection-timeout",
      caf::timespan{
        std::chrono::duration_cast<caf::timespan>(fd.failure_timeout)});
  // BASP decodes on the multiplexer's thread, inside troupe's guarded
  // stream, which turns CAF's exceptions on malformed input into a closed
  // connection (on CAF's worker threads they would end the process).
  set("middleman.workers", size_t{0});
  // Only troupe nodes of this protocol version may connect.
  set("middleman.app-identifiers", std::vector<std::string>{"troupe/1"});
  add_error_category(error_category, [](uint8_t code, caf::atom_value cat,
                                        const caf::message& ctx) {
    return describe(caf::error{code, cat, ctx});
  });
  types.max_message_size = cfg.max_message_size;
}

} // namespace troupe::detail
