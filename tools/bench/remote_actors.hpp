// Actors and payloads of the remote ping-pong benchmark (bench_remote.cpp):
// the same ping and pong for troupe (Protobuf `bench.Payload`) and for raw
// CAF (a plain struct announced to CAF as `bench.raw_payload`).
#pragma once

#include <caf/actor.hpp>
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

} // namespace bench::remote
