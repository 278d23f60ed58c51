// SPDX-License-Identifier: Apache-2.0
// The direct links' reader threads: a fixed pool of epoll loops, each
// reading the links it adopted (link_reader.cpp reads one link's bytes and
// frames), polling a little while data flows (actor/spin_budget.hpp).
#include "cluster/link_loop.hpp"

#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include "actor/spin_budget.hpp"
#include "cluster/link_detail.hpp"
#include "cluster/link_reader.hpp"
#include "troupe/log.hpp"

namespace troupe::cluster {

using link_detail::steady;

namespace {

/// Reads of one link in a row before the thread serves its other links.
constexpr size_t reads_in_a_row = 16;

/// Events taken per epoll_wait.
constexpr int max_events = 64;

} // namespace

struct link_loop::shard {
  explicit shard(std::chrono::microseconds spin) : budget(spin) {
  }

  ~shard() {
    if (ep >= 0)
      ::close(ep);
    if (wake >= 0)
      ::close(wake);
  }

  int ep = -1;
  int wake = -1;
  std::thread thread;
  std::atomic<size_t> links{0}; // adopted, not yet finished

  std::mutex mtx;
  std::vector<std::unique_ptr<link_reader>> incoming; // under mtx
  bool stopping = false;                               // under mtx

  // The thread's own.
  troupe::detail::spin_budget budget;
  std::unordered_map<link_reader*, std::unique_ptr<link_reader>> owned;
  std::vector<link_reader*> again; // read reads_in_a_row times: not drained
  link_reader* hot = nullptr;       // the last to have data (spun on)
  uint64_t round = 0;
};

link_loop::link_loop(size_t threads, std::chrono::microseconds spin)
  : wanted_(threads), spin_(spin) {
  if (wanted_ == 0)
    wanted_ = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 2);
}

link_loop::~link_loop() {
  stop();
}

bool link_loop::start() {
  for (size_t i = 0; i < wanted_; ++i) {
    auto s = std::make_unique<shard>(spin_);
    s->ep = ::epoll_create1(EPOLL_CLOEXEC);
    s->wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr; // the wake-up
    if (s->ep < 0 || s->wake < 0
        || ::epoll_ctl(s->ep, EPOLL_CTL_ADD, s->wake, &ev) != 0) {
      log(log_level::error, fmt::format("direct links: no epoll loop: {}",
                                        std::strerror(errno)));
      stop();
      return false;
    }
    auto& ref = *s;
    shards_.push_back(std::move(s));
    ref.thread = std::thread{[this, &ref] { run(ref); }};
  }
  return true;
}

bool link_loop::adopt(std::unique_ptr<link_reader>& r) {
  if (shards_.empty())
    return false;
  auto fewest = std::min_element(shards_.begin(), shards_.end(),
                                 [](auto& x, auto& y) {
                                   return x->links.load() < y->links.load();
                                 });
  auto& s = **fewest;
  {
    std::lock_guard<std::mutex> guard{s.mtx};
    if (s.stopping)
      return false;
    ++s.links;
    s.incoming.push_back(std::move(r));
  }
  uint64_t one = 1;
  auto n = ::write(s.wake, &one, sizeof(one));
  (void) n;
  return true;
}

void link_loop::stop() {
  for (auto& s : shards_) {
    {
      std::lock_guard<std::mutex> guard{s->mtx};
      s->stopping = true;
    }
    uint64_t one = 1;
    auto n = ::write(s->wake, &one, sizeof(one));
    (void) n;
  }
  for (auto& s : shards_)
    if (s->thread.joinable())
      s->thread.join();
  shards_.clear();
}

void link_loop::finish(shard& s, link_reader* r) {
  ::epoll_ctl(s.ep, EPOLL_CTL_DEL, r->fd(), nullptr);
  if (s.hot == r)
    s.hot = nullptr;
  r->finish();
  s.owned.erase(r);
  --s.links;
}

link_loop::spun link_loop::spin(shard& s, void* events, int max) {
  auto evs = static_cast<epoll_event*>(events);
  auto budget = s.budget.get();
  auto start = steady::now();
  bool crowded = false;
  spun out;
  for (unsigned i = 0;; ++i) {
    if (s.hot != nullptr && i % 4 != 3) {
      auto hot = s.hot;
      auto got = hot->read_some(reads_in_a_row);
      if (got.more)
        s.again.push_back(hot);
      if (got.closed)
        finish(s, hot);
      if (got.data || got.closed) {
        out.read = got.data;
        return out;
      }
    } else {
      out.events = ::epoll_wait(s.ep, evs, max, 0);
      if (out.events != 0)
        return out;
    }
    if (crowded)
      break;
    auto now = steady::now();
    if (now - start >= budget)
      break;
    // Yield rather than pause: when the peer shares this CPU, it runs.
    sched_yield();
    crowded = steady::now() - now > troupe::detail::spin_budget::crowded_yield;
  }
  s.budget.miss(crowded);
  return out;
}

void link_loop::run(shard& s) {
  pthread_setname_np(pthread_self(), "troupe.link.in");
  link_detail::mark_reader_thread();
  std::array<epoll_event, max_events> evs;
  std::vector<link_reader*> batch;
  std::vector<std::unique_ptr<link_reader>> fresh;
  bool had_data = false;
  auto finish = [&](link_reader* r) { this->finish(s, r); };
  for (;;) {
    bool stopping = false;
    {
      std::lock_guard<std::mutex> guard{s.mtx};
      fresh.swap(s.incoming);
      stopping = s.stopping;
    }
    for (auto& r : fresh) {
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.ptr = r.get();
      auto raw = r.get();
      s.owned.emplace(raw, std::move(r));
      if (::epoll_ctl(s.ep, EPOLL_CTL_ADD, raw->fd(), &ev) != 0) {
        finish(raw);
        continue;
      }
      // Its handshake may have left frames buffered (TLS): read it now.
      batch.push_back(raw);
    }
    fresh.clear();
    if (stopping)
      break;
    int n = 0;
    bool slept = false;
    bool spun = false;
    bool read = false; // the spin read the hot link itself
    steady::time_point before{}; // around a sleep only: no clock read
    steady::time_point woke{};   // on a loop that found data at once
    if (!batch.empty() || !s.again.empty()) {
      n = ::epoll_wait(s.ep, evs.data(), max_events, 0);
    } else {
      if (had_data && s.budget.get().count() > 0) {
        spun = true;
        auto found = spin(s, evs.data(), max_events);
        n = found.events;
        read = found.read;
      }
      if (n == 0 && !read && s.again.empty()) {
        before = steady::now();
        n = ::epoll_wait(s.ep, evs.data(), max_events, -1);
        slept = true;
        woke = steady::now();
      }
    }
    if (n < 0)
      n = 0; // EINTR
    for (int i = 0; i < n; ++i) {
      if (evs[i].data.ptr == nullptr) {
        uint64_t x = 0;
        auto r = ::read(s.wake, &x, sizeof(x));
        (void) r;
      } else {
        batch.push_back(static_cast<link_reader*>(evs[i].data.ptr));
      }
    }
    batch.insert(batch.end(), s.again.begin(), s.again.end());
    s.again.clear();
    // A link both with an event and not drained is read once (before any
    // is read: reading may finish and free one).
    ++s.round;
    batch.erase(std::remove_if(batch.begin(), batch.end(),
                               [&](link_reader* r) {
                                 if (r->round == s.round)
                                   return true;
                                 r->round = s.round;
                                 return false;
                               }),
                batch.end());
    had_data = read;
    for (auto r : batch) {
      auto got = r->read_some(reads_in_a_row);
      had_data |= got.data;
      if (got.data)
        s.hot = r;
      if (got.closed)
        finish(r);
      else if (got.more)
        s.again.push_back(r);
    }
    batch.clear();
    if (spun && had_data)
      s.budget.hit();
    if (slept && had_data)
      s.budget.woke(
        std::chrono::duration_cast<std::chrono::microseconds>(woke - before));
  }
  s.again.clear();
  while (!s.owned.empty())
    finish(s.owned.begin()->first);
}

} // namespace troupe::cluster
