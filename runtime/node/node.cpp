// SPDX-License-Identifier: Apache-2.0
#include "troupe/node/node.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/timespan.hpp>
#include <caf/local_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>

#include "cluster/core.hpp"
#include "cluster/daemon.hpp"
#include "cluster/fencing.hpp"
#include "cluster/link.hpp"
#include "cluster/ref.hpp"
#include "dashboard/server.hpp"
#include "introspection/introspector.hpp"
#include "introspection/metrics.hpp"
#include "node/caf_config.hpp"
#include "node/run_waker.hpp"
#include "supervision/name_binder.hpp"
#include "troupe/persistence/journal_service.hpp"
#include "transport/endpoint.hpp"
#include "troupe/error.hpp"
#include "troupe/log.hpp"
#include "troupe/supervision/supervisor.hpp"
#include "troupe/wire/proto.hpp"
#include "troupe/wire/cluster.pb.h"
#include "troupe/wire/introspect.pb.h"
#include "troupe/wire/node.pb.h"

namespace troupe {

namespace {

using namespace std::chrono_literals;

// Set by the handler, read by any thread (stop_requested() is polled by
// application threads): volatile sig_atomic_t only covers the interrupted
// thread, a lock-free atomic is signal-safe and visible to all.
std::atomic<int> signal_received{0};
static_assert(std::atomic<int>::is_always_lock_free);

// The semaphore of the node waiting in run(), if any: the handler posts it
// (sem_post is async-signal-safe), so run() sleeps instead of polling.
std::atomic<sem_t*> run_semaphore{nullptr};
static_assert(std::atomic<sem_t*>::is_always_lock_free);

// The first SIGINT/SIGTERM asks for an orderly shutdown; the handler then
// steps aside, so a second one ends the process at once.
extern "C" void troupe_on_signal(int sig) {
  auto saved = errno;
  signal_received = 1;
  if (auto sem = run_semaphore.load())
    sem_post(sem);
  std::signal(sig, SIG_DFL);
  errno = saved;
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = troupe_on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// -- the directory actor, published at the node's port -----------------------

struct directory_state {
  static inline const char* name = "troupe.directory";
  node* owner = nullptr;
};

caf::behavior directory(stateful_actor<directory_state>* self, node* owner) {
  self->state.owner = owner;
  return {
    [self](const wire::Lookup& req) -> caf::result<caf::actor> {
      auto hdl = self->state.owner->whereis(req.name());
      if (!hdl)
        return make_error(errc::name_not_found,
                          fmt::format("no actor named '{}' on node '{}'",
                                      req.name(), self->state.owner->name()));
      return hdl;
    },
    [self](const wire::NodeInfoRequest&) {
      auto owner = self->state.owner;
      wire::NodeInfo info;
      info.set_name(owner->name());
      info.set_incarnation(owner->incarnation());
      for (auto& m : owner->members())
        info.add_names(m.name);
      info.set_port(owner->port());
      return info;
    },
  };
}

} // namespace

node::node(node_config cfg)
  : cfg_(std::move(cfg)),
    caf_cfg_(std::make_unique<detail::node_caf_config>()),
    introspection_(std::make_unique<detail::introspector>(*this)),
    core_(std::make_shared<cluster::core>()),
    waker_(std::make_unique<detail::run_waker>()) {
  if (cfg_.name.empty())
    cfg_.name = fmt::format("node-{}", ::getpid());
  core_->self_name = cfg_.name;
  core_->host = cfg_.host;
  core_->fd = cfg_.failure_detector;
  // The node's one incarnation lives in the core; the daemon moves it on
  // when this node is fenced (cluster/fencing.hpp numbers both).
  core_->incarnation = cluster::next_incarnation(
    0, std::chrono::system_clock::now());
  caf_cfg_->add_troupe_types();
}

uint16_t node::metrics_port() const noexcept {
  return metrics_ ? metrics_->port() : 0;
}

uint16_t node::http_port() const noexcept {
  return dashboard_ ? dashboard_->port() : 0;
}

uint64_t node::incarnation() const noexcept {
  return core_->incarnation.load();
}

node::~node() {
  shutdown();
  release_kept_system();
}

wire::type_registry& node::types() {
  return caf_cfg_->types;
}

caf::actor_system& node::system() {
  if (!sys_)
    throw std::logic_error("troupe::node::system() called before start()");
  return *sys_;
}

caf::error node::start() {
  // Before anything starts: CAF's openssl module throws from inside the
  // actor system's constructor on bad files, and leaves a process behind
  // that hangs at exit.
  transport::tls_files tls{cfg_.tls_ca, cfg_.tls_cert, cfg_.tls_key, {}};
  if (auto err = transport::check_tls(tls))
    return err;
  auto expected = run_state::idle;
  if (!state_.compare_exchange_strong(expected, run_state::running))
    return make_error(errc::not_running, "node started twice");
  set_log_level(cfg_.log);
  // Installed before the node can announce itself, so that a signal sent
  // right after start() is a shutdown request rather than a kill.
  if (cfg_.handle_signals)
    install_signal_handlers();
  auto& cc = *caf_cfg_;
  cc.apply(cfg_);
  cc.install_types();
  cc.load<caf::io::middleman>();
  if (tls.enabled()) {
    cc.openssl_cafile = tls.ca_file;
    cc.openssl_certificate = tls.cert_file;
    cc.openssl_key = tls.key_file;
    cc.load<caf::openssl::manager>();
  }
  sys_ = std::make_unique<caf::actor_system>(cc);
  if (!cfg_.journal.empty()) {
    auto svc = persistence::journal_service::start(cfg_.journal);
    if (!svc) {
      auto err = svc.error();
      shutdown();
      return err;
    }
    journal_ = std::move(*svc);
    persistence::attach_journal_service(*sys_, journal_);
    log(log_level::info, fmt::format("node '{}' keeps persistent state in {} "
                                     "({})",
                                     cfg_.name, cfg_.journal,
                                     journal_->kind()));
  }
  transport::guard_settings gs;
  // A frame carries one message plus CAF's envelope (handles, ids).
  gs.max_frame = cfg_.max_message_size + 64 * 1024;
  gs.max_connections = cfg_.max_connections;
  gs.max_handshaking = cfg_.max_handshaking;
  gs.handshake_timeout = cfg_.handshake_timeout;
  gs.secret = tls.enabled() ? std::string{} : cfg_.secret;
  gs.tls = tls;
  core_->net = std::make_shared<transport::endpoint>(*sys_, std::move(gs));
  directory_ = troupe::spawn(*sys_, directory, this);
  core_->directory = directory_;
  auto port = core_->net->publish(directory_, cfg_.port, cfg_.host);
  if (!port) {
    auto err = make_error(errc::bad_config,
                          fmt::format("cannot listen on {}:{}: {}", cfg_.host,
                                      cfg_.port, describe(port.error())));
    shutdown();
    return err;
  }
  port_ = *port;
  log(log_level::info,
      fmt::format("node '{}' listening on {}:{}{}", cfg_.name, cfg_.host, port_,
                  tls.enabled()            ? " (TLS)"
                  : !cfg_.secret.empty()   ? " (cluster secret)"
                                           : ""));
  for (auto& seed : cfg_.seeds)
    if (auto ep = parse_endpoint(seed); !ep) {
      auto err = ep.error();
      shutdown();
      return err;
    }
  core_->port = port_;
  core_->flow.window = cfg_.flow_window;
  core_->flow.actor = cluster::make_flow_actor(*sys_, core_);
  core_->responder = cluster::make_ref(*sys_, core_, {});
  if (cfg_.direct_links) {
    cluster::link_settings ls;
    ls.spin = cfg_.link_spin;
    ls.readers = cfg_.link_readers;
    ls.secret = cfg_.secret; // not used under TLS
    ls.tls = tls;
    ls.max_connections = cfg_.max_connections;
    ls.max_handshaking = cfg_.max_handshaking;
    auto links = std::make_shared<cluster::link_layer>(*sys_, core_, ls);
    if (auto err = links->start(cfg_.host)) {
      shutdown();
      return err;
    }
    core_->links = std::move(links);
  }
  cluster::daemon_config dc{core_, cfg_.seeds, std::nullopt};
  if (cfg_.membership == membership_provider::etcd)
    dc.etcd = cluster::etcd_membership{cfg_.etcd.endpoints,
                                       cfg_.etcd.lease_ttl};
  daemon_ = cluster::spawn_daemon(*sys_, std::move(dc));
  // The daemon publishes its first view, this node in it, as it starts on
  // its own thread: wait (bounded) so that `members()` and snapshots name
  // this node as soon as `start` returns.
  core_->view.await_first(std::chrono::steady_clock::now()
                          + std::chrono::seconds{5});
  register_name("troupe.cluster", daemon_);
  // Supervisors bind their children's cluster-wide names through the
  // daemon, without waiting (they run on scheduler threads).
  supervision::set_name_binder(
    *sys_, [d = caf::actor_addr{daemon_.address()}](const std::string& name,
                                                     const caf::actor& hdl) {
      if (auto daemon = caf::actor_cast<caf::actor>(d))
        caf::anon_send(daemon, cluster::register_atom::value, name, hdl, true);
    });
  started_unix_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  introspect_ = introspection_->spawn_service(*sys_);
  register_name("troupe.introspect", introspect_);
  if (cfg_.metrics_port >= 0) {
    try {
      metrics_ = std::make_unique<detail::metrics_endpoint>(
        *this, cfg_.host, static_cast<uint16_t>(cfg_.metrics_port));
      log(log_level::info,
          fmt::format("node '{}' serves metrics on http://{}:{}/metrics",
                      cfg_.name, cfg_.host, metrics_->port()));
    } catch (std::exception& e) {
      auto err = make_error(errc::bad_config,
                            fmt::format("cannot serve metrics on {}:{}: {}",
                                        cfg_.host, cfg_.metrics_port,
                                        e.what()));
      shutdown();
      return err;
    }
  }
  if (cfg_.http_port >= 0) {
    dashboard::settings ds;
    ds.host = cfg_.host;
    ds.port = static_cast<uint16_t>(cfg_.http_port);
    ds.token = cfg_.http_token;
    // A cluster that runs TLS serves its dashboard over HTTPS, with the
    // node's own certificate.
    ds.tls_cert = cfg_.tls_cert;
    ds.tls_key = cfg_.tls_key;
    try {
      dashboard_ = std::make_unique<dashboard::server>(*this, std::move(ds));
      log(log_level::info,
          fmt::format("node '{}' serves its dashboard on {}://{}:{}/{}",
                      cfg_.name, dashboard_->tls() ? "https" : "http",
                      cfg_.host, dashboard_->port(),
                      cfg_.http_token.empty() ? " (read-only)" : ""));
    } catch (std::exception& e) {
      auto err = make_error(errc::bad_config,
                            fmt::format("cannot serve the dashboard on {}:{}: "
                                        "{}",
                                        cfg_.host, cfg_.http_port, e.what()));
      shutdown();
      return err;
    }
  }
  // Join through the seeds. One that is not up yet is not an error (nodes
  // of a cluster start in any order): the daemon keeps trying.
  if (!cfg_.seeds.empty()) {
    caf::scoped_actor self{*sys_, true};
    auto bound = 2 * cfg_.failure_detector.failure_timeout + std::chrono::seconds{2};
    self->request(daemon_, bound, cluster::join_atom::value)
      .receive(
        [&](bool joined) {
          if (!joined)
            log(log_level::warn,
                fmt::format("node '{}': no seed answered; will keep trying",
                            cfg_.name));
        },
        [&](caf::error& err) {
          log(log_level::warn, fmt::format("node '{}': joining: {}",
                                           cfg_.name, describe(err)));
        });
  }
  return caf::none;
}

void node::track(const caf::actor& hdl) {
  std::lock_guard<std::mutex> guard{mtx_};
  // Forget actors that are gone whenever the list has doubled since the last
  // sweep: amortised O(1) per spawn, and the list stays within 2x the live
  // actors.
  if (tracked_.size() >= 2 * tracked_after_sweep_ + 64) {
    tracked_.erase(std::remove_if(tracked_.begin(), tracked_.end(),
                                  [](const caf::actor_addr& x) {
                                    return caf::actor_cast<caf::actor>(x)
                                           == nullptr;
                                  }),
                   tracked_.end());
    tracked_after_sweep_ = tracked_.size();
  }
  tracked_.emplace_back(hdl.address());
}

caf::error node::register_name(const std::string& name,
                               const caf::actor& hdl) {
  if (!hdl)
    return make_error(errc::name_not_found, "cannot register an invalid actor");
  {
    std::lock_guard<std::mutex> guard{names_->mtx};
    auto i = names_->names.find(name);
    if (i != names_->names.end() && i->second != hdl)
      return make_error(errc::bad_config,
                        fmt::format("name '{}' is taken", name));
    names_->names[name] = hdl;
  }
  // Release the name when the actor goes (the functor holds no strong
  // reference to the actor, and only a weak one to the table).
  hdl->attach_functor([table = std::weak_ptr<detail::name_table>{names_},
                       name, addr = hdl.address()] {
    if (auto t = table.lock()) {
      std::lock_guard<std::mutex> guard{t->mtx};
      auto i = t->names.find(name);
      if (i != t->names.end() && i->second.address() == addr)
        t->names.erase(i);
    }
  });
  return caf::none;
}

void node::unregister_name(const std::string& name) {
  std::lock_guard<std::mutex> guard{names_->mtx};
  names_->names.erase(name);
}

caf::actor node::whereis(const std::string& name) const {
  std::lock_guard<std::mutex> guard{names_->mtx};
  auto i = names_->names.find(name);
  return i != names_->names.end() ? i->second : caf::actor{};
}

void node::request_shutdown() noexcept {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    shutdown_requested_ = true;
  }
  waker_->wake();
}

bool node::stop_requested() const noexcept {
  std::lock_guard<std::mutex> guard{mtx_};
  return shutdown_requested_ || signal_received != 0;
}

int node::run() {
  // Woken by request_shutdown() and by the signal handler; every half
  // second it also looks whether the node still runs.
  run_semaphore.store(&waker_->sem);
  for (;;) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (shutdown_requested_ || signal_received != 0 || !running())
        break;
    }
    timespec at{};
    clock_gettime(CLOCK_MONOTONIC, &at);
    at.tv_nsec += 500'000'000;
    at.tv_sec += at.tv_nsec / 1'000'000'000;
    at.tv_nsec %= 1'000'000'000;
    sem_clockwait(&waker_->sem, CLOCK_MONOTONIC, &at); // EINTR, ETIMEDOUT
  }
  auto mine = &waker_->sem;
  run_semaphore.compare_exchange_strong(mine, nullptr);
  if (signal_received != 0)
    log(log_level::info,
        fmt::format("node '{}' received a stop signal", cfg_.name));
  auto clean = shutdown();
  std::lock_guard<std::mutex> guard{mtx_};
  return clean && !root_failed_ ? 0 : 1;
}

// -- introspection (runtime/introspection/) ------------------------------------

wire::NodeSnapshot node::snapshot_local() {
  return introspection_->snapshot_local();
}

wire::ClusterSnapshot node::snapshot_cluster(std::chrono::milliseconds timeout) {
  return introspection_->snapshot_cluster(timeout);
}

caf::expected<wire::KillReply> node::fail_actor(const std::string& path,
                                                fail_mode mode) {
  return introspection_->fail_actor(path, mode);
}

node::actor_lists node::trees() const {
  actor_lists out;
  auto own = [&](const caf::actor& hdl) {
    return hdl == directory_ || hdl == daemon_ || hdl == introspect_;
  };
  {
    std::lock_guard<std::mutex> guard{mtx_};
    out.roots = roots_;
    for (auto& addr : tracked_)
      if (auto hdl = caf::actor_cast<caf::actor>(addr); hdl && !own(hdl))
        out.others.emplace_back(std::move(hdl));
  }
  for (auto& addr : core_->view.hosted())
    if (auto hdl = caf::actor_cast<caf::actor>(addr); hdl && !own(hdl))
      out.others.emplace_back(std::move(hdl));
  return out;
}

size_t node::running_actors() const {
  return sys_ ? sys_->registry().running() : 0;
}

} // namespace troupe
