// SPDX-License-Identifier: Apache-2.0
// A process that persists without pause, for the crash tests: a node whose
// journal is given on the command line runs ACTORS event-sourced writers
// ("crash|1", "crash|2", ...). Writer a stores batch b (persist_model.hpp),
// prints "ACK a b last_seq" once it is acknowledged (durable), then stores
// b + 1, up to MAX_BATCHES. On start each writer prints
// "RECOVERED a k last_seq" after its recovery (k: whole batches found), or
// "BAD ..." and exits 3 if what it recovered is not batches 1..k.
//
//   troupe_persist_writer JOURNAL ACTORS [MAX_BATCHES]
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include <troupe/error.hpp>
#include <troupe/node/node.hpp>
#include <troupe/persistence/event_sourced.hpp>

#include "persist_model.hpp"

namespace {

namespace model = troupe::test::persist_model;

using writer_actor =
  troupe::persistence::event_sourced<troupe_test::CounterState,
                                     troupe_test::CounterEvent>;
using next_atom = caf::atom_constant<caf::atom("next")>;

std::mutex out_mtx;

/// One whole line on stdout, flushed (one write: lines never interleave).
template <class... Ts>
void say(const char* fmt, Ts... xs) {
  std::lock_guard<std::mutex> guard{out_mtx};
  std::printf(fmt, xs...);
  std::fflush(stdout);
}

caf::behavior writer(writer_actor* self, int a, uint64_t max_batches) {
  self->setup({"crash", std::to_string(a)}, model::apply);
  self->on_recovered([a](writer_actor* s) {
    auto events = s->state().events();
    auto k = model::batches_in(a, events);
    auto ref = k >= 0 ? model::state_after(a, static_cast<uint64_t>(k))
                      : troupe_test::CounterState{};
    if (k < 0 || s->last_sequence_nr() != events
        || ref.total() != s->state().total()) {
      say("BAD %d recovered %" PRIu64 " events (seq %" PRIu64
          ", total %" PRId64 "): not whole batches of the model\n",
          a, events, s->last_sequence_nr(),
          static_cast<int64_t>(s->state().total()));
      std::_Exit(3);
    }
    say("RECOVERED %d %" PRId64 " %" PRIu64 "\n", a, k, s->last_sequence_nr());
    s->send(s, next_atom::value, static_cast<uint64_t>(k + 1));
  });
  return {
    [self, a, max_batches](next_atom, uint64_t b) {
      if (b > max_batches) {
        say("DONE %d\n", a);
        return;
      }
      self->persist(model::batch(a, b), [self, a, b] {
        say("ACK %d %" PRIu64 " %" PRIu64 "\n", a, b, self->last_sequence_nr());
        self->send(self, next_atom::value, b + 1);
      });
    },
  };
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s JOURNAL ACTORS [MAX_BATCHES]\n", argv[0]);
    return 2;
  }
  int actors = std::atoi(argv[2]);
  uint64_t max_batches = argc > 3 ? std::strtoull(argv[3], nullptr, 10)
                                  : 1000000;
  troupe::node_config cfg;
  cfg.name = "persist-writer";
  cfg.journal = argv[1];
  cfg.threads = 2;
  troupe::node n{cfg};
  if (auto err = n.start()) {
    std::fprintf(stderr, "persist_writer: %s\n",
                 troupe::describe(err).c_str());
    return 1;
  }
  for (int a = 1; a <= actors; ++a)
    n.spawn(writer, a, max_batches);
  say("STARTED %d\n", actors);
  return n.run();
}
