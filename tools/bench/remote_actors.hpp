// SPDX-License-Identifier: Apache-2.0
// Actors and payloads of the remote benchmarks: ping and pong of the
// ping-pong (bench_remote.cpp), blaster and sink of the one-way throughput
// run (bench_remote_oneway.cpp). Each exists for troupe (Protobuf
// `bench.Payload`) and for raw CAF (a plain struct announced to CAF as
// `bench.raw_payload`), built from one body so that both do the same work.
#pragma once

#include <atomic>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/atom.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/meta/type_name.hpp>
#include <troupe/actor/spawn.hpp>
#include <troupe/wire/proto.hpp>

#include "bench/payload.pb.h"
#include "common.hpp"

namespace bench::remote {

using start_atom = caf::atom_constant<caf::atom("start")>;
using more_atom = caf::atom_constant<caf::atom("more")>;

inline const std::string payload_bytes(64, 'x');

struct raw_payload {
  std::string data;
  uint64_t seq = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, raw_payload& x) {
  return f(caf::meta::type_name("bench.raw_payload"), x.data, x.seq);
}

inline bench::Payload make(uint64_t seq, bench::Payload*) {
  bench::Payload m;
  m.set_data(payload_bytes);
  m.set_seq(seq);
  return m;
}

inline raw_payload make(uint64_t seq, raw_payload*) {
  return raw_payload{payload_bytes, seq};
}

inline uint64_t seq_of(const bench::Payload& m) {
  return m.seq();
}

inline uint64_t seq_of(const raw_payload& m) {
  return m.seq;
}

/// What a ping run records; shared between the client and its ping actor.
struct run_data {
  std::vector<int64_t> rtt_ns;
  bench::clock::time_point sent;
  std::promise<void> done;
};

// One body for both kinds of actor, so that both do the same work.

template <class Msg, class Self>
caf::behavior ping_impl(Self* self, caf::actor pong, uint64_t n,
                        std::shared_ptr<run_data> rd) {
  return {
    [=](start_atom) {
      rd->sent = bench::clock::now();
      self->send(pong, make(0, static_cast<Msg*>(nullptr)));
    },
    [=](const Msg& m) {
      auto now = bench::clock::now();
      rd->rtt_ns.push_back((now - rd->sent).count());
      auto next = seq_of(m) + 1;
      if (next < n) {
        rd->sent = now;
        self->send(pong, make(next, static_cast<Msg*>(nullptr)));
        return;
      }
      rd->done.set_value();
      self->quit();
    },
  };
}

struct ping_state {
  static inline const char* name = "bench.ping";
};

struct pong_state {
  static inline const char* name = "bench.pong";
};

inline caf::behavior troupe_ping(troupe::stateful_actor<ping_state>* self,
                          caf::actor pong, uint64_t n,
                          std::shared_ptr<run_data> rd) {
  return ping_impl<bench::Payload>(self, std::move(pong), n, std::move(rd));
}

inline caf::behavior troupe_pong(troupe::stateful_actor<pong_state>*) {
  return {[](const bench::Payload& m) { return m; }};
}

inline caf::behavior caf_ping(caf::event_based_actor* self, caf::actor pong,
                       uint64_t n, std::shared_ptr<run_data> rd) {
  return ping_impl<raw_payload>(self, std::move(pong), n, std::move(rd));
}

inline caf::behavior caf_pong(caf::event_based_actor*) {
  return {[](const raw_payload& m) { return m; }};
}

// One-way throughput: a blaster sends `n` messages to a remote sink without
// waiting for anything; the sink counts them and answers the n-th.

/// What a blast records; shared between the sender's main thread and its
/// blaster actor.
struct blast_data {
  bench::clock::time_point start;
  /// Until the last message was handed to the runtime (0 before); atomic,
  /// since the main thread reads it also when the answer never came.
  std::atomic<double> send_seconds{0};
  /// Until the sink's answer arrived; read once `done` is ready.
  double seconds = 0;
  std::promise<void> done;
};

/// Messages a blaster sends per handler run before it sends itself `more`:
/// it shares its worker thread like any other actor, but nothing else
/// paces it (no acknowledgements, no waiting on the network).
constexpr uint64_t blast_batch = 1000;

template <class Msg, class Self>
caf::behavior blaster_impl(Self* self, caf::actor sink, uint64_t n,
                           std::shared_ptr<blast_data> bd) {
  auto sent = std::make_shared<uint64_t>(0);
  auto send_batch = [=] {
    auto end = std::min(n, *sent + blast_batch);
    for (; *sent < end; ++*sent)
      self->send(sink, make(*sent, static_cast<Msg*>(nullptr)));
    if (*sent < n)
      self->send(caf::actor_cast<caf::actor>(self), more_atom::value);
    else
      bd->send_seconds = bench::seconds_since(bd->start);
  };
  return {
    [=](start_atom) {
      bd->start = bench::clock::now();
      send_batch();
    },
    [=](more_atom) { send_batch(); },
    [=](const Msg&) {
      bd->seconds = bench::seconds_since(bd->start);
      bd->done.set_value();
      self->quit();
    },
  };
}

/// Messages a sink has seen; shared with the receiver's main thread, which
/// prints it when told to stop (so a run that timed out still reports it).
using arrival_count = std::shared_ptr<std::atomic<uint64_t>>;

template <class Msg, class Self>
caf::behavior sink_impl(Self* self, uint64_t n, arrival_count count) {
  return {
    [=](const Msg&) {
      // Only this actor writes the count.
      auto k = count->load(std::memory_order_relaxed) + 1;
      count->store(k, std::memory_order_relaxed);
      if (k == n)
        self->send(caf::actor_cast<caf::actor>(self->current_sender()),
                   make(k, static_cast<Msg*>(nullptr)));
    },
  };
}

struct blaster_state {
  static inline const char* name = "bench.blaster";
};

struct sink_state {
  static inline const char* name = "bench.sink";
};

inline caf::behavior troupe_blaster(troupe::stateful_actor<blaster_state>* self,
                                    caf::actor sink, uint64_t n,
                                    std::shared_ptr<blast_data> bd) {
  return blaster_impl<bench::Payload>(self, std::move(sink), n, std::move(bd));
}

inline caf::behavior troupe_sink(troupe::stateful_actor<sink_state>* self,
                                 uint64_t n, arrival_count count) {
  return sink_impl<bench::Payload>(self, n, std::move(count));
}

inline caf::behavior caf_blaster(caf::event_based_actor* self, caf::actor sink,
                                 uint64_t n, std::shared_ptr<blast_data> bd) {
  return blaster_impl<raw_payload>(self, std::move(sink), n, std::move(bd));
}

inline caf::behavior caf_sink(caf::event_based_actor* self, uint64_t n,
                              arrival_count count) {
  return sink_impl<raw_payload>(self, n, std::move(count));
}

} // namespace bench::remote
