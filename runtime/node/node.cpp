#include "troupe/node/node.hpp"

#include <atomic>
#include <csignal>
#include <future>
#include <thread>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/after.hpp>
#include <caf/timespan.hpp>
#include <caf/local_actor.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <fmt/format.h>

#include "cluster/core.hpp"
#include "cluster/daemon.hpp"
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

uint64_t make_incarnation() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::microseconds>(now).count());
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
  for (auto& addr : core.hosted())
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

node::node(node_config cfg)
  : cfg_(std::move(cfg)),
    incarnation_(make_incarnation()),
    caf_cfg_(std::make_unique<detail::node_caf_config>()),
    core_(std::make_shared<cluster::core>()) {
  if (cfg_.name.empty())
    cfg_.name = fmt::format("node-{}", ::getpid());
  core_->self_name = cfg_.name;
  core_->host = cfg_.host;
  core_->fd = cfg_.failure_detector;
  core_->incarnation = incarnation_;
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
  // Measured in tools/bench (see README): idle workers that yield instead of
  // sleeping 50 us answer a wake-up far sooner (remote round trips 2.8x,
  // local ping-pong 1.2x), and capping a resumed actor at 100 messages keeps
  // fan-in on two threads level with CAF's four.
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
  asked_.clear();
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

bool node::await_actors(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (sys_->registry().running() != 0) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
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
    result += fmt::format("'{}' (id {})", local ? local->name() : "remote",
                          ptr->id());
  }
  return result.empty() ? "none of those troupe knows of" : result;
}

bool node::shutdown() {
  auto expected = run_state::running;
  if (!state_.compare_exchange_strong(expected, run_state::stopping))
    return expected != run_state::stopping;
  request_shutdown();
  metrics_.reset();
  stop_roots(cfg_.shutdown_timeout);
  leave();
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
  bool clean = await_actors(grace);
  if (!clean) {
    stop_actors(false);
    close_network();
    clean = await_actors(cfg_.shutdown_timeout - grace);
  }
  if (!clean) {
    log(log_level::warn,
        fmt::format("node '{}': {} actor(s) ignored the shutdown request "
                    "({}); killing them",
                    cfg_.name, sys_->registry().running(), describe_asked()));
    stop_actors(true);
    clean = await_actors(cfg_.shutdown_timeout);
  }
  core_->clear();
  supervision::set_name_binder(*sys_, {});
  if (journal_) {
    // Every persistent actor has stopped: what they were told is stored.
    journal_->stop();
    persistence::attach_journal_service(*sys_, nullptr);
  }
  if (clean) {
    stop_basp();
    sys_.reset();
  } else {
    // CAF would wait forever in ~actor_system; leave it behind instead.
    log(log_level::error,
        fmt::format("node '{}': {} actor(s) still running after {} ms; "
                    "abandoning the actor system instead of hanging",
                    cfg_.name, sys_->registry().running(),
                    2 * cfg_.shutdown_timeout.count()));
    (void) sys_.release();
    (void) caf_cfg_.release();
  }
  state_ = run_state::stopped;
  log(log_level::info, fmt::format("node '{}' stopped", cfg_.name));
  return clean;
}

} // namespace troupe
