// SPDX-License-Identifier: Apache-2.0
// Worker pool: maps a tiny task (square a number) over COUNT items
// (default 1,000,000) with chunksize 1 and 1,000; prints tasks per second
// for troupe::actors::pool and for a plain CAF actor pool doing the same
// work (a dispatcher handing chunks to one worker per core, two chunks in
// flight per worker, results gathered in input order). The clock runs from
// the map call to the last result. Rows and flags: see bench::run_rows and
// bench::parse_options (common.hpp).
#include <thread>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <troupe/actors/pool.hpp>

#include "bench/payload.pb.h"
#include "common.hpp"

namespace {

using bench::Payload;

Payload square(const Payload& x) {
  Payload y;
  y.set_seq(x.seq() * x.seq());
  return y;
}

std::vector<Payload> items(uint64_t n) {
  std::vector<Payload> xs(n);
  for (uint64_t i = 0; i < n; ++i)
    xs[i].set_seq(i);
  return xs;
}

size_t workers() {
  return std::max(1u, std::thread::hardware_concurrency());
}

void check(const std::vector<Payload>& ys) {
  for (uint64_t i = 0; i < ys.size(); i += 9973)
    if (ys[i].seq() != i * i) {
      std::fprintf(stderr, "wrong result at %llu\n",
                   static_cast<unsigned long long>(i));
      std::exit(1);
    }
}

double troupe_run(caf::actor_system& sys, uint64_t n, size_t chunksize) {
  auto tasks = std::make_shared<troupe::actors::task_registry>();
  auto t = tasks->add<Payload, Payload>("square", square);
  troupe::actors::pool_options opts;
  opts.workers = workers();
  troupe::actors::pool pool{sys, tasks, opts};
  auto xs = items(n);
  auto t0 = bench::clock::now();
  auto ys = pool.map(t, std::move(xs), {chunksize, {}});
  auto secs = bench::seconds_since(t0);
  if (!ys) {
    std::fprintf(stderr, "map failed: %s\n",
                 troupe::describe(ys.error()).c_str());
    std::exit(1);
  }
  check(*ys);
  return static_cast<double>(n) / secs;
}

// -- the plain CAF pool -------------------------------------------------------

using shared_items = std::shared_ptr<const std::vector<Payload>>;
using chunk_atom = caf::atom_constant<caf::atom("chunk")>;

} // namespace

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(shared_items)

namespace {

caf::behavior caf_worker(caf::event_based_actor*) {
  return {
    [](chunk_atom, const shared_items& xs, uint64_t begin, uint64_t end) {
      std::vector<Payload> out;
      out.reserve(end - begin);
      for (auto i = begin; i < end; ++i)
        out.emplace_back(square((*xs)[i]));
      return std::make_pair(begin, std::move(out));
    },
  };
}

using result_ptr = std::shared_ptr<std::promise<std::vector<Payload>>>;

caf::behavior caf_dispatcher(caf::event_based_actor* self, shared_items xs,
                             size_t chunksize, result_ptr done) {
  struct state {
    std::vector<caf::actor> workers;
    std::vector<Payload> results;
    uint64_t next = 0;
    uint64_t received = 0;
  };
  auto st = std::make_shared<state>();
  st->results.resize(xs->size());
  auto send_next = std::make_shared<std::function<void(caf::actor)>>();
  *send_next = [=](caf::actor w) {
    if (st->next >= xs->size())
      return;
    auto begin = st->next;
    auto end = std::min<uint64_t>(xs->size(), begin + chunksize);
    st->next = end;
    self->request(w, caf::infinite, chunk_atom::value, xs, begin, end)
      .then([=](std::pair<uint64_t, std::vector<Payload>>& r) {
        for (size_t i = 0; i < r.second.size(); ++i)
          st->results[r.first + i] = std::move(r.second[i]);
        st->received += r.second.size();
        if (st->received == xs->size()) {
          done->set_value(std::move(st->results));
          for (auto& x : st->workers)
            self->send_exit(x, caf::exit_reason::user_shutdown);
          self->quit();
          return;
        }
        (*send_next)(w);
      });
  };
  for (size_t i = 0; i < workers(); ++i) {
    st->workers.push_back(self->spawn(caf_worker));
    (*send_next)(st->workers.back());
    (*send_next)(st->workers.back());
  }
  return {[](chunk_atom) {}}; // everything happens in the responses
}

double caf_run(caf::actor_system& sys, uint64_t n, size_t chunksize) {
  auto xs = std::make_shared<const std::vector<Payload>>(items(n));
  auto done = std::make_shared<std::promise<std::vector<Payload>>>();
  auto fut = done->get_future();
  auto t0 = bench::clock::now();
  sys.spawn(caf_dispatcher, xs, chunksize, done);
  auto ys = fut.get();
  auto secs = bench::seconds_since(t0);
  check(ys);
  return static_cast<double>(n) / secs;
}

} // namespace

int main(int argc, char** argv) {
  auto opts = bench::parse_options(argc, argv, 1'000'000);
  auto n = opts.count;
  for (size_t chunksize : {size_t{1}, size_t{1000}})
    bench::run_rows(
      opts,
      "pool map " + std::to_string(n) + " tasks, chunksize "
        + std::to_string(chunksize),
      "tasks/s",
      [=](caf::actor_system& sys) { return troupe_run(sys, n, chunksize); },
      [=](caf::actor_system& sys) { return caf_run(sys, n, chunksize); });
  return 0;
}
