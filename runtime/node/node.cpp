#include "troupe/node/node.hpp"

#include <atomic>
#include <csignal>
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
#include "introspection/metrics.hpp"
#include "node/caf_config.hpp"
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

// The first SIGINT/SIGTERM asks for an orderly shutdown; the handler then
// steps aside, so a second one ends the process at once.
extern "C" void troupe_on_signal(int sig) {
  signal_received = 1;
  std::signal(sig, SIG_DFL);
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
    core_(std::make_shared<cluster::core>()) {
  if (cfg_.name.empty())
    cfg_.name = fmt::format("node-{}", ::getpid());
  core_->self_name = cfg_.name;
  core_->host = cfg_.host;
  core_->fd = cfg_.failure_detector;
  // The node's one incarnation lives in the core; the daemon moves it on
  // when this node is fenced (cluster/fencing.hpp numbers both).
  core_->incarnation = cluster::next_incarnation(
    0, std::chrono::system_clock::now());
  add_message_type<wire::Lookup>();
  add_message_type<wire::NodeInfoRequest>();
  add_message_type<wire::NodeInfo>();
  add_message_type<wire::Join>();
  add_message_type<wire::Welcome>();
  add_message_type<wire::Fenced>();
  add_message_type<wire::Heartbeat>();
  add_message_type<wire::Leave>();
  add_message_type<wire::NameEntry>();
  add_message_type<wire::SpawnRequest>();
  add_message_type<wire::FlowHello>();
  add_message_type<wire::FlowMarker>();
  add_message_type<wire::FlowAck>();
  add_message_type<wire::SnapshotRequest>();
  add_message_type<wire::ClusterSnapshot>();
  add_message_type<wire::KillRequest>();
  add_message_type<wire::KillReply>();
}

uint16_t node::metrics_port() const noexcept {
  return metrics_ ? metrics_->port() : 0;
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
  auto threads = cfg_.threads != 0
                   ? cfg_.threads
                   : std::max(1u, std::thread::hardware_concurrency());
  cc.set("scheduler.max-threads", threads);
  // Measured in tools/bench (see docs/benchmarks.md): idle workers that
  // yield instead of sleeping 50 us answer a wake-up far sooner (remote
  // round trips 2.8x, local ping-pong 1.2x), and capping a resumed actor at
  // 100 messages keeps fan-in on two threads level with CAF's four.
  cc.set("work-stealing.moderate-sleep-duration", caf::timespan{0});
  cc.set("scheduler.max-throughput", size_t{100});
  cc.set("logger.console", caf::atom("none"));
  // Failure detection on every link, the same on all nodes: CAF 0.17 ships
  // with heartbeats off, and closes a link only on its own timeout, so both
  // sides must send (the daemon refuses joiners whose settings clash).
  auto& fd = cfg_.failure_detector;
  cc.set("middleman.heartbeat-interval",
         caf::timespan{std::chrono::duration_cast<caf::timespan>(
           fd.heartbeat_interval)});
  cc.set("middleman.connection-timeout",
         caf::timespan{std::chrono::duration_cast<caf::timespan>(
           fd.failure_timeout)});
  // BASP decodes on the multiplexer's thread, inside troupe's guarded
  // stream, which turns CAF's exceptions on malformed input into a closed
  // connection (on CAF's worker threads they would end the process).
  cc.set("middleman.workers", size_t{0});
  // Only troupe nodes of this protocol version may connect.
  cc.set("middleman.app-identifiers", std::vector<std::string>{"troupe/1"});
  cc.add_error_category(error_category, [](uint8_t code, caf::atom_value cat,
                                           const caf::message& ctx) {
    return describe(caf::error{code, cat, ctx});
  });
  cc.types.max_message_size = cfg_.max_message_size;
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
  core_->flow_window = cfg_.flow_window;
  core_->flow_actor = cluster::make_flow_actor(*sys_, core_);
  core_->responder = cluster::make_ref(*sys_, core_, {});
  if (cfg_.direct_links) {
    cluster::link_settings ls;
    ls.spin = cfg_.link_spin;
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
  daemon_ = cluster::spawn_daemon(*sys_, {core_, cfg_.seeds});
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
  introspect_ = spawn_introspection();
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
  // Join through the seeds. One that is not up yet is not an error (nodes
  // of a cluster start in any order): the daemon keeps trying.
  if (!cfg_.seeds.empty()) {
    caf::scoped_actor self{*sys_, true};
    auto bound = 2 * fd.failure_timeout + std::chrono::seconds{2};
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
  return root;
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

caf::expected<caf::actor> node::connect(const std::string& host,
                                        uint16_t port) {
  if (!running())
    return make_error(errc::not_running, "node is not running");
  auto hdl = core_->net->connect(host, port);
  if (!hdl)
    return make_error(errc::connect_failed,
                      fmt::format("cannot reach node at {}:{}: {}", host, port,
                                  describe(hdl.error())));
  return honest(*hdl);
}

caf::expected<caf::actor> node::lookup(const std::string& host, uint16_t port,
                                       const std::string& name,
                                       std::chrono::milliseconds timeout) {
  if (!running())
    return make_error(errc::not_running, "node is not running");
  wire::Lookup req;
  req.set_name(name);
  caf::scoped_actor self{*sys_, true}; // hidden: not an application actor
  caf::expected<caf::actor> result{caf::actor{}};
  // A member this node is linked with: ask its daemon over that link.
  caf::actor peer;
  self->request(daemon_, timeout, cluster::peer_at_atom::value,
                fmt::format("{}:{}", host, port))
    .receive([&](const caf::actor& x) { peer = x; }, [](caf::error&) {});
  if (peer) {
    self->request(peer, timeout, req)
      .receive([&](const caf::actor& hdl) { result = honest(hdl); },
               [&](caf::error& err) { result = std::move(err); });
    if (result
        || (result.error().category() == error_category
            && result.error().code()
                 == static_cast<uint8_t>(errc::name_not_found)))
      return result;
  }
  auto dir = connect(host, port);
  if (!dir)
    return dir.error();
  self->request(*dir, timeout, std::move(req))
    .receive([&](const caf::actor& hdl) { result = honest(hdl); },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

std::vector<member> node::members() const {
  return core_->members();
}

void node::subscribe_names(const caf::actor& listener) {
  if (daemon_)
    caf::anon_send(daemon_, cluster::subscribe_names_atom::value, listener);
}

void node::subscribe_members(const caf::actor& listener) {
  if (daemon_)
    caf::anon_send(daemon_, cluster::subscribe_atom::value, listener);
}

bool node::join(const std::string& endpoint,
                std::chrono::milliseconds timeout) {
  if (!running() || !daemon_ || !parse_endpoint(endpoint))
    return false;
  caf::scoped_actor self{*sys_, true};
  bool result = false;
  self->request(daemon_, timeout, cluster::join_atom::value, endpoint)
    .receive([&](bool joined) { result = joined; }, [](caf::error&) {});
  return result;
}

void node::leave() {
  if (!daemon_ || !sys_)
    return;
  caf::scoped_actor self{*sys_, true};
  self->request(daemon_, std::chrono::milliseconds{500},
                cluster::leave_atom::value)
    .receive([](caf::unit_t) {}, [](caf::error&) {});
}

void node::add_actor_type(std::string type, actor_factory f) {
  core_->add_factory(std::move(type), std::move(f));
}

caf::expected<caf::actor>
node::ask_spawn(const std::string& type, const std::string& where,
                placement how, caf::message args,
                std::chrono::milliseconds timeout) {
  if (!running() || !daemon_)
    return make_error(errc::not_running, "node is not running");
  caf::scoped_actor self{*sys_, true};
  caf::expected<caf::actor> result{caf::actor{}};
  self->request(daemon_, timeout, cluster::spawn_atom::value, type, where,
                static_cast<int>(how), std::move(args),
                std::vector<std::string>{})
    .receive([&](caf::actor& hdl) { result = std::move(hdl); },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

caf::expected<caf::actor> node::spawn_on(const std::string& node_name,
                                         const std::string& type,
                                         caf::message args,
                                         std::chrono::milliseconds timeout) {
  auto hdl = ask_spawn(type, node_name, placement::local, std::move(args),
                       timeout);
  return hdl ? honest(*hdl) : hdl;
}

caf::expected<caf::actor> node::spawn_placed(const std::string& type,
                                             placement how, caf::message args,
                                             std::chrono::milliseconds timeout) {
  auto hdl = ask_spawn(type, {}, how, std::move(args), timeout);
  return hdl ? honest(*hdl) : hdl;
}

namespace {

caf::error ask_register(caf::actor_system& sys, const caf::actor& daemon,
                        const std::string& name, const caf::actor& hdl,
                        bool rebind) {
  caf::scoped_actor self{sys, true};
  caf::error result;
  self->request(daemon, std::chrono::seconds{5},
                cluster::register_atom::value, name, hdl, rebind)
    .receive([] {}, [&](caf::error& err) { result = std::move(err); });
  return result;
}

} // namespace

caf::error node::register_global(const std::string& name,
                                 const caf::actor& hdl) {
  if (!running() || !daemon_)
    return make_error(errc::not_running, "node is not running");
  return ask_register(*sys_, daemon_, name, hdl, false);
}

caf::error node::rebind_global(const std::string& name,
                               const caf::actor& hdl) {
  if (!running() || !daemon_)
    return make_error(errc::not_running, "node is not running");
  return ask_register(*sys_, daemon_, name, hdl, true);
}

caf::actor node::whereis_global(const std::string& name) const {
  return honest(core_->whereis(name));
}

caf::actor node::honest(const caf::actor& hdl) const {
  return sys_ ? cluster::make_honest(*sys_, core_, hdl) : hdl;
}

uint16_t node::link_port() const noexcept {
  return core_->links ? core_->links->port() : 0;
}

caf::actor node::global_ref(const std::string& name) {
  return cluster::make_ref(system(), core_, name);
}

caf::actor node::ref(const caf::actor& hdl) {
  // Another node's actor keeps its own address (a mirror).
  if (cluster::of_another_node(system(), hdl))
    return honest(hdl);
  return cluster::make_ref(system(), core_, {}, hdl);
}

child_spec node::remote_child(std::string id, std::string type,
                              std::string global_name, placement how,
                              caf::message args) {
  child_spec spec;
  spec.id = std::move(id);
  // Runs inside the supervisor: a bounded wait for the daemon's answer.
  // A node that went down a moment ago may still be chosen before the
  // daemon has processed its loss; the spawn then fails with node_down and
  // the next attempt places the child elsewhere.
  spec.global_name = std::move(global_name); // the supervisor binds it
  spec.start = [this, type = std::move(type), how,
                args = std::move(args)](caf::actor_system&) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      // CAF's own handle: the supervisor watches its child's node itself.
      auto hdl = ask_spawn(type, {}, how, args,
                           std::chrono::seconds{5});
      if (hdl)
        return *hdl;
      log(log_level::warn, fmt::format("placing '{}' failed: {}", type,
                                       describe(hdl.error())));
    }
    return caf::actor{};
  };
  return spec;
}

cluster_stats node::cluster_statistics() const {
  cluster_stats x;
  auto& letters = caf_cfg_->letters;
  auto dead = [&](wire::detail::dead_letter why) {
    return letters.dead[static_cast<size_t>(why)].load();
  };
  x.dead_letters = letters.dead_total();
  x.dead_letters_node_down = dead(wire::detail::dead_letter::node_down);
  x.dead_letters_name_not_found
    = dead(wire::detail::dead_letter::name_not_found);
  x.dead_letters_actor_gone = dead(wire::detail::dead_letter::actor_gone);
  x.dead_letters_mailbox_full = dead(wire::detail::dead_letter::mailbox_full);
  x.mailbox_dropped = letters.mailbox_dropped.load();
  x.failed_requests = core_->failed_requests.load();
  x.fenced = core_->fenced.load();
  x.flow_waits = core_->flow_waits.load();
  if (auto& links = core_->links) {
    x.flow_waits += links->waits.load();
    x.link_frames_out = links->frames_out.load();
    x.link_frames_in = links->frames_in.load();
    x.link_bad_frames = links->bad_frames.load();
  }
  if (auto& net = core_->net) {
    auto g = net->stats();
    x.refused_over_limit = g.over_limit;
    x.refused_displaced = g.displaced;
    x.refused_oversized = g.oversized_frames;
    x.refused_handshake_timeout = g.handshake_timeouts;
    x.refused_secret = g.auth_failures;
    x.refused_tls = g.tls_failures;
    x.refused_malformed = g.malformed;
  }
  return x;
}

void node::request_shutdown() noexcept {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    shutdown_requested_ = true;
  }
  cv_.notify_all();
}

bool node::stop_requested() const noexcept {
  std::lock_guard<std::mutex> guard{mtx_};
  return shutdown_requested_ || signal_received != 0;
}

int node::run() {
  {
    std::unique_lock<std::mutex> guard{mtx_};
    // A signal handler may not touch the condition variable, so look at the
    // flag it sets a few times a second.
    while (!shutdown_requested_ && signal_received == 0 && running())
      cv_.wait_for(guard, 50ms);
  }
  if (signal_received != 0)
    log(log_level::info,
        fmt::format("node '{}' received a stop signal", cfg_.name));
  auto clean = shutdown();
  std::lock_guard<std::mutex> guard{mtx_};
  return clean && !root_failed_ ? 0 : 1;
}

size_t node::running_actors() const {
  return sys_ ? sys_->registry().running() : 0;
}

} // namespace troupe
