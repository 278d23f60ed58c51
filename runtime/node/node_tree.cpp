// SPDX-License-Identifier: Apache-2.0
// node::start_root: the root of the node's supervision tree, returned once
// the tree has started (OTP's supervisor:start_link).
#include "troupe/node/node.hpp"

#include <chrono>
#include <vector>

#include <caf/scoped_actor.hpp>
#include <fmt/format.h>

#include "actor/inline_run.hpp"
#include "cluster/daemon.hpp"
#include "troupe/error.hpp"
#include "troupe/log.hpp"
#include "troupe/supervision/supervisor.hpp"
#include "troupe/supervision/supervisor_handle.hpp"

namespace troupe {

namespace {

/// How long `start_root` waits for its tree at most (a child's start may
/// wait for another node: three placements of 5 s each).
constexpr auto tree_start_limit = std::chrono::seconds{30};

} // namespace

caf::actor node::start_root(supervisor_flags flags,
                             std::vector<child_spec> children) {
  if (flags.path.empty()) {
    std::lock_guard<std::mutex> guard{mtx_};
    flags.path = roots_.empty() ? std::string{"/root"}
                                : fmt::format("/root{}", roots_.size() + 1);
  }
  auto root = spawn_supervisor(system(), flags, std::move(children));
  track(root);
  {
    // The node holds the root: a tree nobody else refers to would otherwise
    // end as unreachable as soon as it is idle.
    std::lock_guard<std::mutex> guard{mtx_};
    roots_.emplace_back(root);
  }
  root->attach_functor([this, name = cfg_.name](const caf::error& reason) {
    if (!reason || reason == caf::exit_reason::user_shutdown)
      return;
    log(log_level::error,
        fmt::format("node '{}': the root supervisor failed ({}); stopping "
                    "the node",
                    name, describe(reason)));
    {
      std::lock_guard<std::mutex> guard{mtx_};
      root_failed_ = true;
    }
    request_shutdown();
  });
  await_tree(root);
  return root;
}

// Every supervisor of the tree answers `children_atom` only after its
// initial children have started (its init runs first), and each answer
// lists the supervisors below it. Their cluster-wide names went to the
// daemon before those answers; a round trip to the daemon then sees them
// bound.
void node::await_tree(const caf::actor& root) {
  // On a thread of the runtime (inside an actor) the wait would hold up
  // the workers that start the tree.
  if (!detail::caller_unit::may_run_here())
    return;
  auto deadline = std::chrono::steady_clock::now() + tree_start_limit;
  auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  };
  std::vector<caf::actor> sups{root};
  bool named = false;
  bool late = false;
  // Bounded: each supervisor is asked once, and the deadline ends it.
  for (size_t i = 0; i < sups.size(); ++i) {
    auto wait = left();
    if (wait.count() <= 0) {
      late = true;
      break;
    }
    auto kids = supervisor_handle{sups[i], wait}.which_children();
    if (!kids) {
      // A supervisor that failed to start is the root's failure to report
      // (see start_root), not a wait to extend.
      late = kids.error() == caf::sec::request_timeout;
      if (late)
        break;
      continue;
    }
    for (auto& x : *kids) {
      named |= !x.global_name.empty();
      if (x.kind == child_kind::supervisor && x.handle)
        sups.push_back(x.handle);
    }
  }
  if (late) {
    log(log_level::warn,
        fmt::format("node '{}': the supervision tree had not started after "
                    "{} s; start_root returns anyway",
                    cfg_.name, tree_start_limit.count()));
    return;
  }
  if (named && daemon_) {
    caf::scoped_actor self{system(), true};
    self->request(daemon_, left(), cluster::sync_atom::value)
      .receive([] {}, [](const caf::error&) {});
  }
}

} // namespace troupe
