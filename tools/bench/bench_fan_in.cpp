// SPDX-License-Identifier: Apache-2.0
// Fan-in: 100 senders each send COUNT messages (default 100,000) to one
// receiver; prints messages per second received, for troupe actors and for
// plain CAF actors. The clock runs from the start signal to the receiver's
// last message. Rows and flags: see bench::run_rows and bench::parse_options
// (common.hpp); `--senders N` changes the number of senders.
#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <troupe/actor/spawn.hpp>

#include "common.hpp"

namespace {

using start_atom = caf::atom_constant<caf::atom("start")>;
using msg_atom = caf::atom_constant<caf::atom("msg")>;

// One body for both kinds of actor, so that both do the same work.

template <class Self>
caf::behavior receiver_impl(Self* self, uint64_t total, bench::done_flag done) {
  auto received = std::make_shared<uint64_t>(0);
  return {
    [=](msg_atom, uint64_t) {
      if (++*received == total) {
        done->set_value();
        self->quit();
      }
    },
  };
}

template <class Self>
caf::behavior sender_impl(Self* self, caf::actor receiver, uint64_t n) {
  return {
    [=](start_atom) {
      for (uint64_t i = 0; i < n; ++i)
        self->send(receiver, msg_atom::value, i);
      self->quit();
    },
  };
}

struct receiver_state {
  static inline const char* name = "bench.receiver";
};

struct sender_state {
  static inline const char* name = "bench.sender";
};

caf::behavior troupe_receiver(troupe::stateful_actor<receiver_state>* self,
                              uint64_t total, bench::done_flag done) {
  return receiver_impl(self, total, std::move(done));
}

caf::behavior troupe_sender(troupe::stateful_actor<sender_state>* self,
                            caf::actor receiver, uint64_t n) {
  return sender_impl(self, std::move(receiver), n);
}

caf::behavior caf_receiver(caf::event_based_actor* self, uint64_t total,
                           bench::done_flag done) {
  return receiver_impl(self, total, std::move(done));
}

caf::behavior caf_sender(caf::event_based_actor* self, caf::actor receiver,
                         uint64_t n) {
  return sender_impl(self, std::move(receiver), n);
}

// Spawns the receiver and the senders, then times the messages.
template <class SpawnReceiver, class SpawnSender>
double run_fan_in(size_t senders, uint64_t n, SpawnReceiver spawn_receiver,
                  SpawnSender spawn_sender) {
  auto done = bench::make_done();
  auto finished = done->get_future();
  auto receiver = spawn_receiver(senders * n, done);
  std::vector<caf::actor> xs;
  xs.reserve(senders);
  for (size_t i = 0; i < senders; ++i)
    xs.push_back(spawn_sender(receiver, n));
  auto t0 = bench::clock::now();
  for (auto& x : xs)
    caf::anon_send(x, start_atom::value);
  finished.wait();
  return static_cast<double>(senders * n) / bench::seconds_since(t0);
}

double troupe_run(caf::actor_system& sys, size_t senders, uint64_t n) {
  return run_fan_in(
    senders, n,
    [&](uint64_t total, bench::done_flag done) {
      return troupe::spawn(sys, troupe_receiver, total, std::move(done));
    },
    [&](caf::actor receiver, uint64_t k) {
      return troupe::spawn(sys, troupe_sender, std::move(receiver), k);
    });
}

double caf_run(caf::actor_system& sys, size_t senders, uint64_t n) {
  return run_fan_in(
    senders, n,
    [&](uint64_t total, bench::done_flag done) {
      return sys.spawn(caf_receiver, total, std::move(done));
    },
    [&](caf::actor receiver, uint64_t k) {
      return sys.spawn(caf_sender, std::move(receiver), k);
    });
}

} // namespace

int main(int argc, char** argv) {
  auto opts = bench::parse_options(argc, argv, 100'000);
  size_t senders = 100;
  for (size_t i = 0; i + 1 < opts.args.size(); ++i)
    if (opts.args[i] == "--senders") {
      senders = std::stoul(opts.args[i + 1]);
      opts.args.erase(opts.args.begin() + i, opts.args.begin() + i + 2);
      break;
    }
  auto n = opts.count;
  bench::run_rows(
    opts, "fan-in " + std::to_string(senders) + "x" + std::to_string(n),
    "msgs/s",
    [=](caf::actor_system& sys) { return troupe_run(sys, senders, n); },
    [=](caf::actor_system& sys) { return caf_run(sys, senders, n); });
  return 0;
}
