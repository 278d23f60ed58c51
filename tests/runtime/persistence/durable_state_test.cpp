// SPDX-License-Identifier: Apache-2.0
// Durable-state actors on CAF's test_coordinator, and events written by an
// older schema replayed by a newer one.
#include "troupe/persistence/durable_state.hpp"

#include <caf/after.hpp>
#include <caf/system_messages.hpp>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>

#include "runtime/persistence/persistent_fixture.hpp"

using namespace std::chrono_literals;

namespace troupe::test {
namespace {

using state_actor = persistence::durable_state<troupe_test::CounterState>;
using set_atom = caf::atom_constant<caf::atom("set")>;

caf::behavior register_actor(state_actor* self, std::string key) {
  self->setup({"register", key});
  return {
    [self](set_atom, int64_t x) -> caf::result<int64_t> {
      auto rp = self->make_response_promise<int64_t>();
      auto next = self->state();
      next.set_total(x);
      self->save(std::move(next), [rp](const troupe_test::CounterState& s) mutable {
        rp.deliver(static_cast<int64_t>(s.total()));
      });
      return rp;
    },
    [self](total_atom) { return static_cast<int64_t>(self->state().total()); },
    [self](add_atom) { return static_cast<int64_t>(self->revision()); },
  };
}

using DurableState = persistent_fixture;

TEST_F(DurableState, SavesWithARevisionAndRecoversTheLastOne) {
  auto r = troupe::spawn(*ctx.sys, register_actor, std::string{"a"});
  ASSERT_EQ(*ask(r, set_atom::value, int64_t{3}), 3);
  ASSERT_EQ(*ask(r, set_atom::value, int64_t{9}), 9);
  EXPECT_EQ(*ask(r, add_atom::value), 2); // revision
  self->send_exit(r, caf::exit_reason::kill);
  settle();
  auto again = troupe::spawn(*ctx.sys, register_actor, std::string{"a"});
  EXPECT_EQ(*ask(again, total_atom::value), 9);
  EXPECT_EQ(*ask(again, add_atom::value), 2);
  EXPECT_EQ(*ask(again, set_atom::value, int64_t{1}), 1);
  EXPECT_EQ(*ask(again, add_atom::value), 3);
}

TEST_F(DurableState, AStaleIncarnationCannotOverwriteTheNewOne) {
  auto old = troupe::spawn(*ctx.sys, register_actor, std::string{"b"});
  ASSERT_EQ(*ask(old, set_atom::value, int64_t{1}), 1);
  auto fresh = troupe::spawn(*ctx.sys, register_actor, std::string{"b"});
  ASSERT_EQ(*ask(fresh, set_atom::value, int64_t{2}), 2);
  auto res = ask(old, set_atom::value, int64_t{666});
  ASSERT_FALSE(res);
  EXPECT_TRUE(is(res.error(), errc::writer_fenced)) << describe(res.error());
  EXPECT_EQ(*ask(fresh, total_atom::value), 2);
  auto j = persistence::make_memory_journal(store);
  auto st = j->load_state("register|b");
  ASSERT_TRUE(st && st->has_value());
  EXPECT_EQ((*st)->seq, 2u);
}

// Regression: a second save in the same handler used to carry the same
// revision as the first (revision_conflict, the actor failed).
TEST_F(DurableState, SeveralSavesInOneHandlerAreStoredInCallOrder) {
  auto r = troupe::spawn(*ctx.sys, [](state_actor* self) -> caf::behavior {
    self->setup({"register", "many"});
    return {
      [self](set_atom, int64_t x) -> caf::result<int64_t> {
        auto rp = self->make_response_promise<int64_t>();
        troupe_test::CounterState a;
        a.set_total(x);
        self->save(a, [] {});
        troupe_test::CounterState b;
        b.set_total(x + 1);
        self->save(b, [rp, self]() mutable {
          rp.deliver(static_cast<int64_t>(self->revision()));
        });
        return rp;
      },
      [self](total_atom) { return static_cast<int64_t>(self->state().total()); },
    };
  });
  auto res = ask(r, set_atom::value, int64_t{10});
  ASSERT_TRUE(res) << describe(res.error());
  EXPECT_EQ(*res, 2); // the revision after both saves
  EXPECT_EQ(*ask(r, total_atom::value), 11);
  auto j = persistence::make_memory_journal(store);
  auto st = j->load_state("register|many");
  ASSERT_TRUE(st && st->has_value());
  EXPECT_EQ((*st)->seq, 2u);
}

// Bytes of troupe_test.CounterEvent as "v1" code wrote them: a message of
// that name with only `add`, built at run time from its own descriptor.
std::string v1_event_bytes(int64_t add) {
  google::protobuf::FileDescriptorProto file;
  file.set_name("v1_counter.proto");
  file.set_package("v1");
  file.set_syntax("proto3");
  auto* msg = file.add_message_type();
  msg->set_name("CounterEvent");
  auto* field = msg->add_field();
  field->set_name("add");
  field->set_number(1);
  field->set_type(google::protobuf::FieldDescriptorProto::TYPE_INT64);
  field->set_label(google::protobuf::FieldDescriptorProto::LABEL_OPTIONAL);
  google::protobuf::DescriptorPool pool;
  auto* fd = pool.BuildFile(file);
  EXPECT_NE(fd, nullptr);
  auto* desc = fd->FindMessageTypeByName("CounterEvent");
  google::protobuf::DynamicMessageFactory factory{&pool};
  std::unique_ptr<google::protobuf::Message> m{factory.GetPrototype(desc)->New()};
  m->GetReflection()->SetInt64(m.get(), desc->FindFieldByName("add"), add);
  return m->SerializeAsString();
}

TEST_F(DurableState, EventsWrittenBeforeTheirProtoGainedAFieldStillReplay) {
  auto j = persistence::make_memory_journal(store);
  auto epoch = *j->take_epoch("counter|v1");
  ASSERT_FALSE(j->append("counter|v1", epoch,
                         {{1, "troupe_test.CounterEvent", v1_event_bytes(20)},
                          {2, "troupe_test.CounterEvent", v1_event_bytes(22)}}));
  auto c = troupe::spawn(*ctx.sys, counter, std::string{"v1"},
                         persistence::snapshot_policy{});
  EXPECT_EQ(*ask(c, total_atom::value), 42);
  EXPECT_EQ(*ask(c, add_atom::value, int64_t{1}), 43);
}

} // namespace
} // namespace troupe::test
