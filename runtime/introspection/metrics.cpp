// SPDX-License-Identifier: Apache-2.0
#include "introspection/metrics.hpp"

#include <atomic>
#include <chrono>
#include <initializer_list>
#include <map>
#include <thread>
#include <utility>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>

#include "troupe/node/node.hpp"
#include "troupe/persistence/journal_service.hpp"
#include "troupe/wire/introspect.pb.h"

namespace troupe::detail {

namespace {

prometheus::ClientMetric value(double x, prometheus::MetricType type,
                               std::vector<prometheus::ClientMetric::Label>
                                 labels = {}) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  if (type == prometheus::MetricType::Counter)
    m.counter.value = x;
  else
    m.gauge.value = x;
  return m;
}

prometheus::MetricFamily family(std::string name, std::string help,
                                prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

/// Collects at scrape time from the node's own snapshot: per actor type,
/// the cluster's members by status, and the cluster layer's counters.
class collector final : public prometheus::Collectable {
public:
  explicit collector(node& owner) : owner_(owner) {
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    using prometheus::MetricType;
    std::vector<prometheus::MetricFamily> out;
    if (!owner_.running())
      return out;
    struct per_type {
      double actors = 0, messages = 0, mailbox = 0, restarts = 0, dropped = 0;
    };
    std::map<std::string, per_type> types;
    auto snap = owner_.snapshot_local();
    for (auto& a : snap.actors()) {
      if (a.node() != owner_.name())
        continue; // a remote child: counted by its own node
      auto& t = types[a.type().empty() ? "unknown" : a.type()];
      t.actors += 1;
      t.messages += static_cast<double>(a.figures().messages());
      t.mailbox += static_cast<double>(a.figures().mailbox());
      t.restarts += static_cast<double>(a.restarts());
      t.dropped += static_cast<double>(a.figures().dropped());
    }
    auto actors = family("troupe_actors", "Running actors by type.",
                         MetricType::Gauge);
    auto messages = family("troupe_actor_messages_total",
                           "Messages handled, by actor type.",
                           MetricType::Counter);
    auto mailbox = family("troupe_actor_mailbox_depth",
                          "Messages waiting in mailboxes, by actor type.",
                          MetricType::Gauge);
    auto restarts = family("troupe_actor_restarts_total",
                           "Restarts of supervised actors, by actor type.",
                           MetricType::Counter);
    auto dropped = family("troupe_actor_mailbox_dropped_total",
                          "Messages discarded by bounded mailboxes, by "
                          "actor type (running actors).",
                          MetricType::Counter);
    for (auto& [name, t] : types) {
      std::vector<prometheus::ClientMetric::Label> label{{"type", name}};
      actors.metric.push_back(value(t.actors, MetricType::Gauge, label));
      messages.metric.push_back(value(t.messages, MetricType::Counter, label));
      mailbox.metric.push_back(value(t.mailbox, MetricType::Gauge, label));
      restarts.metric.push_back(value(t.restarts, MetricType::Counter, label));
      dropped.metric.push_back(value(t.dropped, MetricType::Counter, label));
    }
    out.push_back(std::move(actors));
    out.push_back(std::move(messages));
    out.push_back(std::move(mailbox));
    out.push_back(std::move(restarts));
    out.push_back(std::move(dropped));
    std::map<std::string, double> by_status;
    for (auto s : {member_status::joining, member_status::up,
                   member_status::down, member_status::left})
      by_status[to_string(s)] = 0;
    // No member is ever suspect (the status is gone), but the series stays
    // at 0 so that dashboards and alerts on it keep their data.
    by_status["suspect"] = 0;
    for (auto& m : owner_.members())
      by_status[to_string(m.status)] += 1;
    auto members = family("troupe_cluster_members",
                          "Cluster members as this node sees them, by status.",
                          MetricType::Gauge);
    for (auto& [status, n] : by_status)
      members.metric.push_back(value(n, MetricType::Gauge,
                                     {{"status", status}}));
    out.push_back(std::move(members));
    auto stats = owner_.cluster_statistics();
    auto counter = [&](const char* name, const char* help, double x) {
      auto f = family(name, help, MetricType::Counter);
      f.metric.push_back(value(x, MetricType::Counter));
      out.push_back(std::move(f));
    };
    // A counter family with one metric per reason.
    using by_reason = std::initializer_list<std::pair<const char*, uint64_t>>;
    auto counters = [&](const char* name, const char* help, by_reason xs) {
      auto f = family(name, help, MetricType::Counter);
      for (auto [reason, n] : xs)
        f.metric.push_back(value(static_cast<double>(n), MetricType::Counter,
                                 {{"reason", reason}}));
      out.push_back(std::move(f));
    };
    counters("troupe_dead_letters_total",
             "One-way messages that reached no handler, by reason.",
             {{"node_down", stats.dead_letters_node_down},
              {"name_not_found", stats.dead_letters_name_not_found},
              {"actor_gone", stats.dead_letters_actor_gone},
              {"mailbox_full", stats.dead_letters_mailbox_full}});
    counters("troupe_connections_refused_total",
             "Connections the transport guard refused or dropped, by reason.",
             {{"max_connections", stats.refused_over_limit},
              {"oversized_frame", stats.refused_oversized},
              {"handshake_timeout", stats.refused_handshake_timeout},
              {"secret", stats.refused_secret},
              {"tls", stats.refused_tls},
              {"malformed", stats.refused_malformed}});
    counter("troupe_mailbox_dropped_total",
            "Messages (one-way and requests) bounded mailboxes discarded.",
            stats.mailbox_dropped);
    counter("troupe_failed_requests_total",
            "Requests failed with node_down or name_not_found.",
            stats.failed_requests);
    counter("troupe_flow_waits_total",
            "Times a sender waited for a full window to another node.",
            stats.flow_waits);
    counter("troupe_fenced_total", "Times this node was fenced.",
            stats.fenced);
    if (auto svc = owner_.journal()) {
      auto& jf = svc->figures();
      auto load = [](const std::atomic<uint64_t>& x) {
        return x.load(std::memory_order_relaxed);
      };
      counter("troupe_journal_events_written_total",
              "Events persistent actors stored (acknowledged, durable).",
              load(jf.events_written));
      counter("troupe_journal_batches_total",
              "Journal transactions (group commits).", load(jf.batches));
      counter("troupe_journal_batch_jobs_total",
              "Jobs in all journal transactions (divide by batches for the "
              "mean batch size).",
              load(jf.batch_jobs));
      auto gauge = [&](const char* name, const char* help, double x) {
        auto f = family(name, help, MetricType::Gauge);
        f.metric.push_back(value(x, MetricType::Gauge));
        out.push_back(std::move(f));
      };
      gauge("troupe_journal_batch_jobs_max", "Largest journal batch, in jobs.",
            static_cast<double>(load(jf.batch_jobs_max)));
      counter("troupe_journal_write_seconds_total",
              "Time from a batch's start to its commit, summed.",
              static_cast<double>(load(jf.write_ns_total)) / 1e9);
      gauge("troupe_journal_write_seconds_max",
            "Longest batch from start to commit.",
            static_cast<double>(load(jf.write_ns_max)) / 1e9);
      counter("troupe_journal_recoveries_total",
              "Persistent actors recovered (snapshot and replay).",
              load(jf.recoveries));
      counter("troupe_journal_failures_total",
              "Journal jobs failed by an error (not refusals).",
              load(jf.failures));
      counter("troupe_journal_reconnects_total",
              "Times the journal re-opened its connection.",
              load(jf.reconnects));
    }
    return out;
  }

private:
  node& owner_;
};

/// Opens and at once closes a TCP connection to `host:port` (IPv4; the
/// wildcard address means the loopback). Errors are ignored: a refused
/// connection means the listener is already gone, which is the point.
void poke(const std::string& host, uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (host.empty() || host == "0.0.0.0"
      || inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1)
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return;
  ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::close(fd);
}

} // namespace

metrics_endpoint::metrics_endpoint(node& owner, const std::string& host,
                                   uint16_t port)
  : host_(host) {
  exposer_ = std::make_unique<prometheus::Exposer>(host + ":"
                                                   + std::to_string(port));
  auto c = std::make_shared<collector>(owner);
  exposer_->RegisterCollectable(c);
  collector_ = c;
  auto ports = exposer_->GetListeningPorts();
  port_ = ports.empty() ? port : static_cast<uint16_t>(ports.front());
}

metrics_endpoint::~metrics_endpoint() {
  // Stop serving before the collector (and the node) go. civetweb's
  // listening thread polls in 2-second quanta and reads its stop flag only
  // between them, so the reset alone took up to 2 s (issue 17: a node with
  // metrics exited 1.6-2.0 s after SIGTERM). A connection ends the poll:
  // poke the port until the reset returns (bounded; each poke is closed at
  // once, so no worker waits on it).
  std::atomic<bool> done{false};
  std::thread waker{[this, &done] {
    for (int i = 0; i < 300 && !done.load(); ++i) {
      poke(host_, port_);
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
  }};
  exposer_.reset();
  done = true;
  waker.join();
}

} // namespace troupe::detail
