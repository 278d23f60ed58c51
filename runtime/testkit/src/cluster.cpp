// SPDX-License-Identifier: Apache-2.0
// Several nodes in one process: their member events, kept per observer, and
// the network cuts (runtime/transport/cuts.hpp) behind kills and partitions.
#include "troupe/testkit/cluster.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/spawn_options.hpp>

#include "node/node_access.hpp"
#include "troupe/error.hpp"
#include "troupe/persistence/memory_journal.hpp"

namespace troupe::testkit {

/// What each node heard of the members, by observer index and member name.
/// Written by the listener actors (any thread), read by the test thread.
struct cluster::views {
  std::mutex mtx;
  std::condition_variable cv;
  std::map<size_t, std::map<std::string, member>> seen;
};

namespace {

using steady = std::chrono::steady_clock;

/// How often a wait looks again without an event: incarnations change
/// with the events, this only bounds a missed wake-up.
constexpr auto recheck = std::chrono::milliseconds{100};

/// Keeps node `idx`'s member events in `v`.
caf::behavior listener(caf::event_based_actor*,
                       std::shared_ptr<cluster::views> v, size_t idx) {
  return {
    [v, idx](const member_event& ev) {
      {
        std::lock_guard<std::mutex> guard{v->mtx};
        v->seen[idx][ev.member.name] = ev.member;
      }
      v->cv.notify_all();
    },
  };
}

std::atomic<uint64_t> next_cluster_id{0};

} // namespace

cluster::cluster(cluster_options opts)
  : opts_(std::move(opts)), views_(std::make_shared<views>()) {
  if (opts_.memory_journal) {
    journal_ = "memory:testkit-" + std::to_string(++next_cluster_id);
    store_ = persistence::shared_memory_store(journal_.substr(7));
  }
}

cluster::~cluster() {
  for (size_t i = nodes_.size(); i-- > 0;)
    if (running_[i])
      nodes_[i]->shutdown();
}

caf::error cluster::start(size_t n) {
  for (size_t i = 0; i < n; ++i) {
    std::string seed;
    if (!nodes_.empty())
      seed = "127.0.0.1:" + std::to_string(nodes_.front()->port());
    if (auto err = start_node(seed))
      return err;
  }
  if (!await_converged())
    return make_error(errc::not_running,
                      "testkit: the nodes did not all see each other up in "
                        + std::to_string(opts_.timeout.count()) + " ms");
  return caf::none;
}

caf::expected<size_t> cluster::add_node() {
  std::string seed;
  for (size_t i = 0; i < nodes_.size() && seed.empty(); ++i)
    if (running_[i])
      seed = "127.0.0.1:" + std::to_string(nodes_[i]->port());
  if (auto err = start_node(seed))
    return err;
  if (!await_converged())
    return make_error(errc::not_running,
                      "testkit: the new node and the others did not all see "
                      "each other up in "
                        + std::to_string(opts_.timeout.count()) + " ms");
  return nodes_.size() - 1;
}

caf::error cluster::start_node(const std::string& seed) {
  auto idx = nodes_.size();
  node_config cfg;
  cfg.threads = opts_.threads;
  cfg.failure_detector = opts_.failure_detector;
  cfg.log = opts_.log;
  if (opts_.configure)
    opts_.configure(cfg);
  cfg.name = opts_.name_prefix + std::to_string(idx + 1);
  cfg.host = "127.0.0.1";
  cfg.port = 0;
  cfg.seeds.clear();
  if (!seed.empty())
    cfg.seeds.emplace_back(seed);
  cfg.handle_signals = false;
  cfg.journal = journal_;
  auto n = std::make_unique<node>(std::move(cfg));
  if (opts_.prepare)
    opts_.prepare(*n);
  if (auto err = n->start())
    return err;
  auto watch = n->system().spawn<caf::hidden>(listener, views_, idx);
  n->track(watch);
  n->subscribe_members(watch);
  nodes_.emplace_back(std::move(n));
  running_.push_back(true);
  return caf::none;
}

bool cluster::running(size_t i) const {
  return i < running_.size() && running_[i];
}

bool cluster::await_converged() {
  return await_converged(opts_.timeout);
}

bool cluster::await_converged(std::chrono::milliseconds timeout) {
  auto deadline = steady::now() + timeout;
  auto converged = [&] {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (!running_[i])
        continue;
      auto& seen = views_->seen[i];
      for (size_t j = 0; j < nodes_.size(); ++j) {
        if (j == i || !running_[j])
          continue;
        auto k = seen.find(nodes_[j]->name());
        if (k == seen.end() || k->second.status != member_status::up
            || k->second.incarnation != nodes_[j]->incarnation())
          return false;
      }
    }
    return true;
  };
  std::unique_lock<std::mutex> guard{views_->mtx};
  while (!converged()) {
    auto now = steady::now();
    if (now >= deadline)
      return false;
    views_->cv.wait_until(guard, std::min(deadline, now + recheck));
  }
  return true;
}

std::optional<member> cluster::await_member(size_t observer,
                                            const std::string& name,
                                            member_status status) {
  auto deadline = steady::now() + opts_.timeout;
  std::unique_lock<std::mutex> guard{views_->mtx};
  for (;;) {
    auto& seen = views_->seen[observer];
    if (auto k = seen.find(name);
        k != seen.end() && k->second.status == status)
      return k->second;
    auto now = steady::now();
    if (now >= deadline)
      return std::nullopt;
    views_->cv.wait_until(guard, std::min(deadline, now + recheck));
  }
}

std::optional<member> cluster::await_member(size_t observer, size_t subject,
                                            member_status status) {
  return await_member(observer, nodes_.at(subject)->name(), status);
}

std::optional<member> cluster::view(size_t observer,
                                    const std::string& name) const {
  std::lock_guard<std::mutex> guard{views_->mtx};
  auto i = views_->seen.find(observer);
  if (i == views_->seen.end())
    return std::nullopt;
  auto k = i->second.find(name);
  if (k == i->second.end())
    return std::nullopt;
  return k->second;
}

std::vector<std::string> cluster::endpoints(size_t i) {
  auto& n = *nodes_.at(i);
  std::vector<std::string> xs{"127.0.0.1:" + std::to_string(n.port())};
  if (auto lp = n.link_port(); lp != 0)
    xs.emplace_back("127.0.0.1:" + std::to_string(lp));
  return xs;
}

void cluster::kill(size_t i) {
  if (!running(i))
    return;
  running_[i] = false;
  if (auto cuts = detail::node_access::cuts(*nodes_[i]))
    cuts->isolate();
  nodes_[i]->shutdown();
}

void cluster::stop(size_t i) {
  if (!running(i))
    return;
  running_[i] = false;
  nodes_[i]->shutdown();
}

void cluster::partition(const std::vector<size_t>& a,
                        const std::vector<size_t>& b) {
  auto cut = [this](const std::vector<size_t>& from,
                    const std::vector<size_t>& to) {
    std::vector<std::string> eps;
    for (auto j : to)
      for (auto& ep : endpoints(j))
        eps.emplace_back(ep);
    for (auto i : from)
      if (running(i))
        if (auto cuts = detail::node_access::cuts(*nodes_[i]))
          cuts->cut(eps);
  };
  cut(a, b);
  cut(b, a);
}

void cluster::heal() {
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (running(i))
      if (auto cuts = detail::node_access::cuts(*nodes_[i]))
        cuts->heal();
}

} // namespace troupe::testkit
