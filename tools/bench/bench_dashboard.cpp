// SPDX-License-Identifier: Apache-2.0
// The cost of the web dashboard (issue 21), on one in-process node:
//  - local ping-pong (COUNT round trips, default 1,000,000) with three
//    live views open (/api/events, read as fast as they come) against
//    none, interleaved (target: >= 0.97x);
//  - a tree of 1 + 100 x 100 actors (a tenth of them busy, ticking every
//    100 ms), one view: the process's CPU with the view against without
//    (over the same window), the first full state (time and size), and
//    the bytes pushed per second after it.
// Rows: see common.hpp; the ping-pong row's "raw" column is the run
// without views.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <troupe/actor/spawn.hpp>
#include <troupe/supervision/supervisor.hpp>

#include "common.hpp"

namespace {

using namespace std::chrono_literals;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;
using start_atom = caf::atom_constant<caf::atom("start")>;

// -- a live view: one SSE connection, read on a thread of its own ------------

class viewer {
public:
  explicit viewer(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
      throw std::runtime_error("viewer: cannot connect");
    std::string req = "GET /api/events HTTP/1.1\r\nHost: bench\r\n\r\n";
    if (::send(fd_, req.data(), req.size(), 0)
        != static_cast<ssize_t>(req.size()))
      throw std::runtime_error("viewer: cannot send");
    started_ = bench::clock::now();
    reader_ = std::thread([this] { read_loop(); });
  }

  ~viewer() {
    ::shutdown(fd_, SHUT_RDWR);
    reader_.join();
    ::close(fd_);
  }

  /// Waits (bounded) for the full state; its size and how long it took.
  bool await_full(std::chrono::seconds timeout) {
    auto deadline = bench::clock::now() + timeout;
    while (full_bytes_.load() == 0 && bench::clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    return full_bytes_.load() != 0;
  }

  uint64_t full_bytes() const {
    return full_bytes_.load();
  }

  double full_ms() const {
    return full_ms_.load();
  }

  uint64_t bytes() const {
    return bytes_.load();
  }

private:
  void read_loop() {
    std::string seen; // until the full state has arrived
    char buf[65536];
    for (;;) {
      auto n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0)
        return;
      bytes_ += static_cast<uint64_t>(n);
      if (full_bytes_.load() != 0)
        continue;
      seen.append(buf, static_cast<size_t>(n));
      auto at = seen.find("event: full\n");
      if (at == std::string::npos)
        continue;
      auto end = seen.find("\n\n", at);
      if (end == std::string::npos)
        continue;
      full_ms_ = bench::seconds_since(started_) * 1000.0;
      full_bytes_ = end - at;
      seen.clear();
      seen.shrink_to_fit();
    }
  }

  int fd_ = -1;
  bench::clock::time_point started_;
  std::thread reader_;
  std::atomic<uint64_t> bytes_{0};
  std::atomic<uint64_t> full_bytes_{0};
  std::atomic<double> full_ms_{0};
};

// -- actors --------------------------------------------------------------------

struct worker_state {
  static inline const char* name = "bench.worker";
};

caf::behavior worker(troupe::stateful_actor<worker_state>* self, bool busy) {
  if (busy)
    self->send(self, tick_atom::value);
  return {[self](tick_atom) {
    self->delayed_send(self, 100ms, tick_atom::value);
  }};
}

struct pong_state {
  static inline const char* name = "bench.pong";
};

caf::behavior pong(troupe::stateful_actor<pong_state>*) {
  return {[](ping_atom, uint64_t i) {
    return std::make_tuple(pong_atom::value, i);
  }};
}

struct ping_state {
  static inline const char* name = "bench.ping";
};

caf::behavior ping(troupe::stateful_actor<ping_state>* self, caf::actor other,
                   uint64_t n, bench::done_flag done) {
  return {
    [=](start_atom) { self->send(other, ping_atom::value, uint64_t{0}); },
    [=](pong_atom, uint64_t i) {
      if (i + 1 < n) {
        self->send(other, ping_atom::value, i + 1);
        return;
      }
      done->set_value();
      self->send_exit(other, caf::exit_reason::user_shutdown);
      self->quit();
    },
  };
}

double ping_pong(caf::actor_system& sys, uint64_t n) {
  auto done = bench::make_done();
  auto finished = done->get_future();
  auto b = troupe::spawn(sys, pong);
  auto a = troupe::spawn(sys, ping, b, n, done);
  auto t0 = bench::clock::now();
  caf::anon_send(a, start_atom::value);
  finished.wait();
  return static_cast<double>(n) / bench::seconds_since(t0);
}

/// 1 + `sups` x `per` actors under the node's root; the first `busy`
/// workers tick every 100 ms.
void grow_tree(troupe::node& n, size_t sups, size_t per, size_t busy) {
  std::vector<troupe::child_spec> top;
  size_t made = 0;
  for (size_t s = 0; s < sups; ++s) {
    std::vector<troupe::child_spec> kids;
    for (size_t w = 0; w < per; ++w, ++made) {
      troupe::child_spec spec;
      spec.id = "w" + std::to_string(w);
      bool is_busy = made < busy;
      spec.start = [is_busy](caf::actor_system& sys) {
        return troupe::spawn(sys, worker, is_busy);
      };
      kids.push_back(std::move(spec));
    }
    troupe::child_spec sup;
    sup.id = "s" + std::to_string(s);
    sup.kind = troupe::child_kind::supervisor;
    sup.start = [kids](caf::actor_system& sys) {
      return troupe::spawn_supervisor(sys, {}, kids);
    };
    top.push_back(std::move(sup));
  }
  n.start_root({}, std::move(top));
}

troupe::node_config dashboard_node() {
  troupe::node_config cfg;
  cfg.name = "bench";
  cfg.log = troupe::log_level::warn;
  cfg.http_port = 0;
  return cfg;
}

double cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

/// CPU of the process over `window`, as % of one core.
double cpu_percent(std::chrono::milliseconds window) {
  auto c0 = cpu_seconds();
  auto t0 = bench::clock::now();
  std::this_thread::sleep_for(window);
  return (cpu_seconds() - c0) / bench::seconds_since(t0) * 100.0;
}

void print_row(const std::string& name, const std::string& a,
               const std::string& b, const std::string& ratio) {
  std::printf("ROW|%s|%s|%s|%s\n", name.c_str(), a.c_str(), b.c_str(),
              ratio.c_str());
  std::fflush(stdout);
}

std::string fixed(double x, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, x);
  return buf;
}

} // namespace

int main(int argc, char** argv) {
  auto opts = bench::parse_options(argc, argv, 1'000'000, 100, 5);
  {
    troupe::node n{dashboard_node()};
    if (auto err = n.start()) {
      std::fprintf(stderr, "node: %s\n", troupe::describe(err).c_str());
      return 1;
    }
    grow_tree(n, 10, 10, 10);
    auto port = n.http_port();
    auto [with, without] = bench::median_pair(
      opts.reps,
      [&] {
        std::vector<std::unique_ptr<viewer>> views;
        for (int i = 0; i < 3; ++i)
          views.push_back(std::make_unique<viewer>(port));
        for (auto& v : views)
          v->await_full(10s);
        return ping_pong(n.system(), opts.count);
      },
      [&] { return ping_pong(n.system(), opts.count); });
    bench::row("local ping-pong, three dashboards open vs none [round "
               "trips/s]",
               with, without);
    n.shutdown();
  }
  {
    troupe::node n{dashboard_node()};
    if (auto err = n.start()) {
      std::fprintf(stderr, "node: %s\n", troupe::describe(err).c_str());
      return 1;
    }
    grow_tree(n, 100, 100, 1000);
    auto window = opts.quick ? 2000ms : 10000ms;
    std::this_thread::sleep_for(1s); // the tree starts and settles
    auto idle = cpu_percent(window);
    viewer v{n.http_port()};
    if (!v.await_full(30s)) {
      std::fprintf(stderr, "no full state within 30 s\n");
      return 1;
    }
    auto b0 = v.bytes();
    auto t0 = bench::clock::now();
    auto viewed = cpu_percent(window);
    auto rate = static_cast<double>(v.bytes() - b0) / bench::seconds_since(t0);
    print_row("dashboard 1+100x100 actors: process CPU with one view vs none "
              "[% of a core, lower is better]",
              fixed(viewed, 1), fixed(idle, 1),
              fixed(idle > 0 ? viewed / idle : 0, 2) + "x");
    print_row("dashboard 1+100x100 actors: first full state [ms / bytes]",
              fixed(v.full_ms(), 0), std::to_string(v.full_bytes()), "-");
    print_row("dashboard 1+100x100 actors: pushed to one view after the "
              "full state [bytes/s]",
              fixed(rate, 0), "-", "-");
    n.shutdown();
  }
  return 0;
}
