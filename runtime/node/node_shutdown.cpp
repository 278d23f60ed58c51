// SPDX-License-Identifier: Apache-2.0
// A node's orderly shutdown, in OTP's order: the supervision trees first,
// then leaving the cluster, the actors hosted for other nodes, every other
// actor this node knows of, the network, and last the actor system.
#include "troupe/node/node.hpp"

#include <algorithm>
#include <cstring>
#include <future>
#include <optional>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/after.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/local_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <fmt/format.h>

#include "cluster/core.hpp"
#include "cluster/link.hpp"
#include "dashboard/server.hpp"
#include "introspection/metrics.hpp"
#include "node/caf_config.hpp"
#include "supervision/name_binder.hpp"
#include "transport/endpoint.hpp"
#include "troupe/error.hpp"
#include "troupe/log.hpp"
#include "troupe/persistence/journal_service.hpp"

namespace troupe {

namespace {

using namespace std::chrono_literals;

// Runs `f(broker, backend)` on the BASP broker's own thread (the
// multiplexer's), as CAF's middleman does with its brokers; false when it
// did not run within `timeout`.
template <class F>
bool on_basp(caf::actor_system& sys, std::chrono::milliseconds timeout, F f) {
  auto& mm = sys.middleman();
  auto basp = mm.named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  if (!basp)
    return true;
  auto done = std::make_shared<std::promise<void>>();
  auto ran = done->get_future();
  auto* backend = &mm.backend();
  backend->dispatch([basp, done, backend, f] {
    f(*static_cast<caf::io::basp_broker*>(
        caf::actor_cast<caf::abstract_actor*>(basp)),
      *backend);
    done->set_value();
  });
  return ran.wait_for(timeout) == std::future_status::ready;
}

// Stops the actors this node hosts for other nodes with `errc::node_left`,
// so that their supervisors move them without counting a failure (the node
// did not fail, it left), and waits at most `timeout` until they are gone:
// their down messages are then on their way to those supervisors, ahead of
// anything the rest of the shutdown sends or closes. Run after the node
// left the cluster, so that no supervisor places a child here again.
void stop_hosted(caf::actor_system& sys, const cluster::core& core,
                 const std::string& node_name,
                 std::chrono::milliseconds timeout) {
  caf::scoped_actor self{sys, true};
  size_t waiting = 0;
  for (auto& addr : core.view.hosted())
    if (auto hdl = caf::actor_cast<caf::actor>(addr)) {
      self->monitor(hdl);
      self->send_exit(hdl, make_error(errc::node_left,
                                      "its node left the cluster"));
      ++waiting;
    }
  if (waiting == 0)
    return;
  log(log_level::info,
      fmt::format("node '{}' stops {} actor(s) it hosts for other nodes",
                  node_name, waiting));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (waiting > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      break;
    self->receive([&](const caf::down_msg&) { --waiting; },
                  caf::after(left) >> [] {});
  }
}

} // namespace

// OTP's order: the supervision trees stop first, top-down (each supervisor
// stops its children, those on other nodes included, before it ends), and
// only then does the node leave. Left first, the members would stop the
// remote children they host for this node, and its supervisors would try
// to restart them on a node that no longer runs (and give up, failing the
// node's exit).
void node::stop_roots(std::chrono::milliseconds timeout) {
  std::vector<caf::actor> roots;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    roots = roots_;
  }
  if (roots.empty())
    return;
  caf::scoped_actor self{*sys_, true};
  for (auto& root : roots) {
    self->monitor(root);
    self->send_exit(root, caf::exit_reason::user_shutdown);
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (size_t down = 0; down < roots.size();) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      break; // the rest is stopped with every other actor
    self->receive([&](const caf::down_msg&) { ++down; },
                  caf::after(left) >> [] {});
  }
}

void node::stop_actors(bool kill) {
  auto reason = kill ? caf::exit_reason::kill : caf::exit_reason::user_shutdown;
  std::vector<caf::actor> victims;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& addr : tracked_)
      if (auto hdl = caf::actor_cast<caf::actor>(addr))
        victims.emplace_back(std::move(hdl));
  }
  {
    std::lock_guard<std::mutex> guard{names_->mtx};
    for (auto& kvp : names_->names)
      victims.emplace_back(kvp.second);
    names_->names.clear();
  }
  if (directory_)
    victims.emplace_back(directory_);
  if (daemon_)
    victims.emplace_back(daemon_);
  if (introspect_)
    victims.emplace_back(introspect_);
  // Actors put into CAF's registry by hand hold a reference that would keep
  // them (and the actor system) alive forever.
  auto& reg = sys_->registry();
  for (auto& kvp : reg.named_actors()) {
    auto key = kvp.first;
    if (key == caf::atom("SpawnServ") || key == caf::atom("ConfigServ")
        || key == caf::atom("StreamServ"))
      continue;
    victims.emplace_back(caf::actor_cast<caf::actor>(kvp.second));
    reg.erase(key);
  }
  // CAF also keeps every actor whose handle left the node (published, or
  // sent to a peer) in its registry by ID, for good. The registry cannot be
  // listed, but IDs are dense: one lookup per actor ever spawned, once.
  auto last = sys_->latest_actor_id();
  for (caf::actor_id id = 1; id <= last; ++id)
    if (auto ptr = reg.get<caf::strong_actor_ptr>(id))
      if (!ptr->get()->getf(caf::abstract_channel::is_hidden_flag))
        victims.emplace_back(caf::actor_cast<caf::actor>(std::move(ptr)));
  // Only this node's actors: a name may be bound to a proxy of an actor on
  // another node, which a local shutdown must leave alone; so may a troupe
  // handle (hidden), which would forward the exit to the actor it names.
  for (auto& hdl : victims)
    if (hdl && hdl.node() == sys_->node()
        && !caf::actor_cast<caf::abstract_actor*>(hdl)->getf(
          caf::abstract_channel::is_hidden_flag)) {
      caf::anon_send_exit(hdl, reason);
      asked_.emplace_back(hdl.address());
    }
  // Every sweep of one shutdown adds to the list (the second one no longer
  // finds the network's actors, which may still be ending).
  std::sort(asked_.begin(), asked_.end());
  asked_.erase(std::unique(asked_.begin(), asked_.end()), asked_.end());
}

void node::close_network() {
  if (core_->net)
    core_->net->stop();
  directory_ = nullptr;
  daemon_ = nullptr;
  introspect_ = nullptr;
  // Ports published with CAF's own API keep their actors alive, and CAF has
  // no call that lists them. The BASP broker knows them.
  auto closed = on_basp(*sys_, cfg_.shutdown_timeout, [](auto& basp, auto&) {
    if (basp.getf(caf::abstract_actor::is_terminated_flag))
      return;
    std::vector<uint16_t> ports;
    for (auto& kvp : basp.instance.published_actors())
      ports.emplace_back(kvp.first);
    for (auto port : ports) {
      basp.instance.remove_published_actor(port, nullptr);
      basp.close(basp.hdl_by_port(port));
    }
  });
  if (!closed)
    log(log_level::warn, "the network layer did not answer at shutdown");
}

// CAF 0.17.6 never closes a broker's mailbox: abstract_broker::cleanup goes
// straight to local_actor::cleanup and skips scheduled_actor::cleanup, which
// closes and drains it (later CAF routes it through scheduled_actor). The
// BASP broker's heartbeat tick, sent by the broker to itself through the
// clock, can land in that open mailbox after the broker ended; as its sender
// it holds the broker, which is then never freed (ASan saw the leak in about
// one shutdown in ten). So troupe ends BASP itself before the actor system
// goes, the way CAF's middleman does when it stops, and then runs the
// skipped scheduled_actor::cleanup, which closes and drains its mailbox.
// Everything that arrives later is refused and freed by its sender.
void node::stop_basp() {
  auto stopped = on_basp(*sys_, cfg_.shutdown_timeout, [](auto& basp,
                                                          auto& backend) {
    if (!basp.getf(caf::abstract_actor::is_terminated_flag)) {
      basp.context(&backend);
      basp.quit(caf::exit_reason::user_shutdown);
      basp.finalize();
    }
    // The part of the cleanup CAF skipped (it finds the actor cleaned up
    // and stops there): close and drain the mailbox.
    if (!basp.mailbox().closed())
      basp.caf::scheduled_actor::cleanup(
        caf::make_error(caf::exit_reason::user_shutdown), &backend);
  });
  if (!stopped)
    log(log_level::warn, "the network layer did not stop in time");
}

namespace {

/// How long actors nobody asked to stop may outlive the ones troupe asked:
/// children that end with their parents take a few milliseconds.
constexpr auto strangers_grace = 200ms;

/// Whether `ptr` is a `caf::scoped_actor`: no message stops it, only its
/// owner's thread, by destroying it. (Other blocking actors end when a
/// receive of theirs takes the exit message.)
bool scoped(const caf::strong_actor_ptr& ptr) {
  auto self = ptr->get();
  if (!self->getf(caf::abstract_actor::is_blocking_flag))
    return false;
  auto local = dynamic_cast<caf::local_actor*>(self);
  return local != nullptr && std::strcmp(local->name(), "scoped_actor") == 0;
}

std::string or_else(const std::string& text, const char* fallback,
                    const char* before = "", const char* after = "") {
  return text.empty() ? fallback : before + text + after;
}

} // namespace

bool node::asked_are_done() const {
  for (auto& addr : asked_) {
    auto ptr = caf::actor_cast<caf::strong_actor_ptr>(addr);
    if (ptr && !ptr->get()->getf(caf::abstract_actor::is_terminated_flag)
        && !scoped(ptr))
      return false;
  }
  return true;
}

node::await_result node::await_actors(std::chrono::milliseconds timeout,
                                      bool judge_strangers) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::optional<std::chrono::steady_clock::time_point> asked_done_at;
  while (sys_->registry().running() != 0) {
    auto now = std::chrono::steady_clock::now();
    if (judge_strangers && !asked_done_at && asked_are_done())
      asked_done_at = now;
    if (asked_done_at && now - *asked_done_at >= strangers_grace)
      return await_result::strangers;
    if (now >= deadline)
      return await_result::timed_out;
    std::this_thread::sleep_for(1ms);
  }
  return await_result::done;
}

std::string node::describe_asked() const {
  std::string result;
  for (auto& addr : asked_) {
    auto ptr = caf::actor_cast<caf::strong_actor_ptr>(addr);
    if (!ptr || ptr->get()->getf(caf::abstract_actor::is_terminated_flag))
      continue;
    if (!result.empty())
      result += ", ";
    auto local = dynamic_cast<caf::local_actor*>(ptr->get());
    result += fmt::format("'{}' (id {}{})", local ? local->name() : "?",
                          ptr->id(),
                          scoped(ptr) ? ", a caf::scoped_actor" : "");
  }
  return result;
}

bool node::shutdown() {
  auto expected = run_state::running;
  if (!state_.compare_exchange_strong(expected, run_state::stopping))
    return expected != run_state::stopping;
  request_shutdown();
  metrics_.reset();
  stop_roots(cfg_.shutdown_timeout);
  leave();
  // The dashboard answered /readyz with 503 while the trees stopped; it
  // goes before the actors and the network it reports on.
  dashboard_.reset();
  stop_hosted(*sys_, *core_, cfg_.name,
              std::min(cfg_.shutdown_timeout, std::chrono::milliseconds{1000}));
  stop_actors(false);
  {
    std::lock_guard<std::mutex> guard{mtx_};
    roots_.clear();
  }
  close_network();
  // CAF publishes asynchronously: a port published just before shutdown can
  // reach the registry after the first sweep. Sweep once more after a grace.
  auto grace = std::min(cfg_.shutdown_timeout, std::chrono::milliseconds{50});
  auto result = await_actors(grace);
  if (result == await_result::timed_out) {
    stop_actors(false);
    close_network();
    result = await_actors(cfg_.shutdown_timeout - grace);
  }
  if (result == await_result::timed_out) {
    log(log_level::warn,
        fmt::format("node '{}': {} actor(s) ignored the shutdown request "
                    "({}); killing them",
                    cfg_.name, sys_->registry().running(),
                    or_else(describe_asked(), "none of those troupe knows of")));
    stop_actors(true);
    result = await_actors(cfg_.shutdown_timeout);
  }
  core_->clear();
  supervision::set_name_binder(*sys_, {});
  if (journal_) {
    // Every persistent actor has stopped: what they were told is stored.
    journal_->stop();
    persistence::attach_journal_service(*sys_, nullptr);
  }
  switch (result) {
    case await_result::done:
      stop_basp();
      sys_.reset();
      break;
    case await_result::strangers:
      // Everything this node asked to stop has; what is left it did not
      // start and cannot stop. CAF's actor system waits for them when it
      // goes, so it goes with the node object (~node), when the scoped
      // actor of a `{ node n; caf::scoped_actor self{n.system()}; ...
      // n.run(); }` has been destroyed.
      log(log_level::warn,
          fmt::format("node '{}': {} actor(s) it did not start are still "
                      "running{}: a caf::scoped_actor alive across "
                      "node::run() or shutdown() (destroy it first, or give "
                      "it a block that ends before), or an actor spawned "
                      "with system().spawn that nothing stops; the actor "
                      "system stays until the node object is destroyed",
                      cfg_.name, sys_->registry().running(),
                      or_else(describe_asked(), "", " (", ")")));
      system_kept_ = true;
      break;
    case await_result::timed_out:
      abandon_system();
      return finish(false);
  }
  return finish(true);
}

bool node::finish(bool clean) {
  state_ = run_state::stopped;
  log(log_level::info, fmt::format("node '{}' stopped", cfg_.name));
  return clean;
}

void node::abandon_system() {
  // CAF would wait forever in ~actor_system; leave it behind instead.
  log(log_level::error,
      fmt::format("node '{}': {} actor(s) still running after {} ms; "
                  "abandoning the actor system instead of hanging",
                  cfg_.name, sys_->registry().running(),
                  2 * cfg_.shutdown_timeout.count()));
  (void) sys_.release();
  (void) caf_cfg_.release();
}

void node::release_kept_system() {
  if (!system_kept_)
    return;
  system_kept_ = false;
  if (await_actors(cfg_.shutdown_timeout, false) != await_result::done) {
    abandon_system();
    return;
  }
  stop_basp();
  sys_.reset();
}

} // namespace troupe
