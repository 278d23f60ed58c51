// SPDX-License-Identifier: Apache-2.0
// The cases of the journal conformance suite; each backend instantiates them.
#include "runtime/persistence/journal_conformance.hpp"

#include <vector>

#include "troupe/error.hpp"

namespace troupe::test {
namespace {

using persistence::record;

std::vector<record> events(uint64_t from, uint64_t to) {
  std::vector<record> out;
  for (auto i = from; i <= to; ++i)
    out.push_back(record{i, "test.Event", "e" + std::to_string(i)});
  return out;
}

std::vector<uint64_t> seqs(persistence::journal& j, const std::string& pid,
                           uint64_t from = 1, uint64_t to = UINT64_MAX,
                           uint64_t max = UINT64_MAX) {
  std::vector<uint64_t> out;
  auto err = j.replay(pid, from, to, max,
                      [&](record&& x) { out.push_back(x.seq); });
  EXPECT_FALSE(err) << describe(err);
  return out;
}

using v = std::vector<uint64_t>;

TEST_P(JournalConformance, ANewIdHasNothing) {
  EXPECT_EQ(*j_->highest_seq("a|1"), 0u);
  EXPECT_EQ(*j_->current_epoch("a|1"), 0u);
  EXPECT_FALSE(j_->load_snapshot("a|1")->has_value());
  EXPECT_FALSE(j_->load_state("a|1")->has_value());
  EXPECT_EQ(seqs(*j_, "a|1"), v{});
}

TEST_P(JournalConformance, EachRecoveryTakesTheNextEpoch) {
  EXPECT_EQ(*j_->take_epoch("a|1"), 1u);
  EXPECT_EQ(*j_->take_epoch("a|1"), 2u);
  EXPECT_EQ(*j_->take_epoch("a|2"), 1u);
  EXPECT_EQ(*j_->current_epoch("a|1"), 2u);
}

TEST_P(JournalConformance, ReplaysAppendedEventsInOrderWithTheirBytes) {
  auto e = *j_->take_epoch("a|1");
  ASSERT_FALSE(j_->append("a|1", e, events(1, 3)));
  ASSERT_FALSE(j_->append("a|1", e, events(4, 5)));
  std::vector<record> got;
  ASSERT_FALSE(j_->replay("a|1", 1, 100, 100,
                          [&](record&& x) { got.push_back(std::move(x)); }));
  ASSERT_EQ(got.size(), 5u);
  for (uint64_t i = 0; i < 5; ++i) {
    EXPECT_EQ(got[i].seq, i + 1);
    EXPECT_EQ(got[i].type, "test.Event");
    EXPECT_EQ(got[i].bytes, "e" + std::to_string(i + 1));
  }
  EXPECT_EQ(*j_->highest_seq("a|1"), 5u);
}

TEST_P(JournalConformance, ReplayHonoursItsBounds) {
  auto e = *j_->take_epoch("a|1");
  ASSERT_FALSE(j_->append("a|1", e, events(1, 5)));
  EXPECT_EQ(seqs(*j_, "a|1", 2, 4), (v{2, 3, 4}));
  EXPECT_EQ(seqs(*j_, "a|1", 2, 100, 2), (v{2, 3}));
  EXPECT_EQ(seqs(*j_, "a|1", 6), v{});
  EXPECT_EQ(seqs(*j_, "a|1", 1, 0), v{});
  EXPECT_EQ(seqs(*j_, "a|1", 1, 5, 0), v{});
}

TEST_P(JournalConformance, KeepsPersistenceIdsApart) {
  auto e1 = *j_->take_epoch("a|b");
  auto e2 = *j_->take_epoch("a|bc");
  ASSERT_FALSE(j_->append("a|b", e1, events(1, 2)));
  ASSERT_FALSE(j_->append("a|bc", e2, events(1, 1)));
  EXPECT_EQ(seqs(*j_, "a|b"), (v{1, 2}));
  EXPECT_EQ(seqs(*j_, "a|bc"), (v{1}));
}

TEST_P(JournalConformance, StoresBinaryPayloadsExactly) {
  auto e = *j_->take_epoch("a|1");
  std::string bytes{"\0\x01\xff\0z", 5};
  ASSERT_FALSE(j_->append("a|1", e, {record{1, "test.Event", bytes}}));
  std::string got;
  ASSERT_FALSE(j_->replay("a|1", 1, 1, 1, [&](record&& x) { got = x.bytes; }));
  EXPECT_EQ(got, bytes);
}

TEST_P(JournalConformance, AnAppendIsAllOrNothing) {
  auto e = *j_->take_epoch("a|1");
  ASSERT_FALSE(j_->append("a|1", e, events(1, 2)));
  auto bad = events(3, 5);
  bad[1].seq = 7; // a gap inside the batch
  EXPECT_TRUE(is(j_->append("a|1", e, bad), errc::revision_conflict));
  EXPECT_EQ(seqs(*j_, "a|1"), (v{1, 2}));
  EXPECT_EQ(*j_->highest_seq("a|1"), 2u);
}

TEST_P(JournalConformance, RefusesADuplicateAndAGap) {
  auto e = *j_->take_epoch("a|1");
  ASSERT_FALSE(j_->append("a|1", e, events(1, 2)));
  EXPECT_TRUE(is(j_->append("a|1", e, events(2, 3)), errc::revision_conflict));
  EXPECT_TRUE(is(j_->append("a|1", e, events(4, 4)), errc::revision_conflict));
  EXPECT_EQ(seqs(*j_, "a|1"), (v{1, 2}));
}

TEST_P(JournalConformance, RefusesAStaleEpochAndWritesNothing) {
  auto old_epoch = *j_->take_epoch("a|1");
  ASSERT_FALSE(j_->append("a|1", old_epoch, events(1, 1)));
  auto new_epoch = *j_->take_epoch("a|1");
  auto err = j_->append("a|1", old_epoch, events(2, 2));
  EXPECT_TRUE(is(err, errc::writer_fenced)) << describe(err);
  EXPECT_NE(describe(err).find("a|1"), std::string::npos) << describe(err);
  EXPECT_TRUE(is(j_->save_snapshot("a|1", old_epoch, {1, "s", "x"}, 1),
                 errc::writer_fenced));
  EXPECT_TRUE(is(j_->save_state("a|1", old_epoch, {1, "s", "x"}),
                 errc::writer_fenced));
  EXPECT_FALSE(j_->load_snapshot("a|1")->has_value());
  EXPECT_FALSE(j_->append("a|1", new_epoch, events(2, 2)));
  EXPECT_EQ(seqs(*j_, "a|1"), (v{1, 2}));
}

TEST_P(JournalConformance, RefusesWritesBeforeAnyEpochWasTaken) {
  EXPECT_TRUE(is(j_->append("a|1", 0, events(1, 1)), errc::writer_fenced));
  EXPECT_TRUE(is(j_->append("a|1", 1, events(1, 1)), errc::writer_fenced));
  EXPECT_EQ(seqs(*j_, "a|1"), v{});
}

TEST_P(JournalConformance, TheHighestSequenceNumberSurvivesDeletion) {
  auto e = *j_->take_epoch("a|1");
  ASSERT_FALSE(j_->append("a|1", e, events(1, 5)));
  ASSERT_FALSE(j_->delete_events("a|1", 3));
  EXPECT_EQ(seqs(*j_, "a|1"), (v{4, 5}));
  ASSERT_FALSE(j_->delete_events("a|1", 5));
  EXPECT_EQ(seqs(*j_, "a|1"), v{});
  EXPECT_EQ(*j_->highest_seq("a|1"), 5u);
  EXPECT_TRUE(is(j_->append("a|1", e, events(1, 1)), errc::revision_conflict));
  EXPECT_FALSE(j_->append("a|1", e, events(6, 6)));
}

TEST_P(JournalConformance, KeepsTheNewestSnapshots) {
  auto e = *j_->take_epoch("a|1");
  for (uint64_t i = 1; i <= 4; ++i)
    ASSERT_FALSE(j_->save_snapshot("a|1", e,
                                   {i * 10, "test.State", std::to_string(i)},
                                   2));
  auto snap = *j_->load_snapshot("a|1");
  ASSERT_TRUE(snap.has_value());
  EXPECT_EQ(snap->seq, 40u);
  EXPECT_EQ(snap->bytes, "4");
  EXPECT_EQ(snap->type, "test.State");
}

TEST_P(JournalConformance, RecoveryIsTheNewestSnapshotAndTheEventsAfterIt) {
  auto e = *j_->take_epoch("a|1");
  ASSERT_FALSE(j_->append("a|1", e, events(1, 6)));
  ASSERT_FALSE(j_->save_snapshot("a|1", e, {4, "test.State", "s4"}, 1));
  auto rec = j_->recover("a|1");
  ASSERT_TRUE(rec) << describe(rec.error());
  EXPECT_EQ(rec->epoch, e + 1);
  EXPECT_EQ(rec->highest_seq, 6u);
  ASSERT_TRUE(rec->snapshot.has_value());
  EXPECT_EQ(rec->snapshot->bytes, "s4");
  ASSERT_EQ(rec->events.size(), 2u);
  EXPECT_EQ(rec->events[0].seq, 5u);
  EXPECT_EQ(rec->events[1].seq, 6u);
}

TEST_P(JournalConformance, RecoveryAfterDeletingBelowASnapshotStillWorks) {
  auto e = *j_->take_epoch("a|1");
  ASSERT_FALSE(j_->append("a|1", e, events(1, 6)));
  ASSERT_FALSE(j_->save_snapshot("a|1", e, {6, "test.State", "s6"}, 1));
  ASSERT_FALSE(j_->delete_events("a|1", 6));
  auto rec = j_->recover("a|1");
  ASSERT_TRUE(rec) << describe(rec.error());
  EXPECT_EQ(rec->snapshot->seq, 6u);
  EXPECT_TRUE(rec->events.empty());
  EXPECT_EQ(rec->highest_seq, 6u);
}

TEST_P(JournalConformance, DurableStateIsACompareAndSetOnItsRevision) {
  auto e = *j_->take_epoch("s|1");
  ASSERT_FALSE(j_->save_state("s|1", e, {1, "test.State", "r1"}));
  ASSERT_FALSE(j_->save_state("s|1", e, {2, "test.State", "r2"}));
  EXPECT_TRUE(is(j_->save_state("s|1", e, {2, "test.State", "again"}),
                 errc::revision_conflict));
  EXPECT_TRUE(is(j_->save_state("s|1", e, {4, "test.State", "skip"}),
                 errc::revision_conflict));
  auto rec = j_->recover_state("s|1");
  ASSERT_TRUE(rec);
  ASSERT_TRUE(rec->state.has_value());
  EXPECT_EQ(rec->state->seq, 2u);
  EXPECT_EQ(rec->state->bytes, "r2");
  ASSERT_FALSE(j_->delete_state("s|1", rec->epoch));
  EXPECT_FALSE(j_->load_state("s|1")->has_value());
  // The revision outlives the deletion: a stale writer cannot restart at 1.
  EXPECT_TRUE(is(j_->save_state("s|1", rec->epoch, {1, "test.State", "x"}),
                 errc::revision_conflict));
  EXPECT_FALSE(j_->save_state("s|1", rec->epoch, {3, "test.State", "r3"}));
}

TEST_P(JournalConformance, ARolledBackTransactionLeavesNoTrace) {
  auto e = *j_->take_epoch("a|1");
  ASSERT_FALSE(j_->begin());
  ASSERT_FALSE(j_->append("a|1", e, events(1, 2)));
  ASSERT_TRUE(j_->take_epoch("a|2"));
  j_->rollback();
  EXPECT_EQ(seqs(*j_, "a|1"), v{});
  EXPECT_EQ(*j_->highest_seq("a|1"), 0u);
  EXPECT_EQ(*j_->current_epoch("a|2"), 0u);
}

TEST_P(JournalConformance, ARefusalInsideATransactionSpoilsNothingElse) {
  auto e = *j_->take_epoch("a|1");
  ASSERT_FALSE(j_->begin());
  EXPECT_FALSE(j_->append("a|1", e, events(1, 2)));
  EXPECT_TRUE(is(j_->append("a|2", 9, events(1, 1)), errc::writer_fenced));
  EXPECT_TRUE(is(j_->append("a|1", e, events(5, 5)), errc::revision_conflict));
  EXPECT_FALSE(j_->append("a|1", e, events(3, 3)));
  ASSERT_FALSE(j_->commit());
  EXPECT_EQ(seqs(*j_, "a|1"), (v{1, 2, 3}));
}

TEST_P(JournalConformance, AnotherConnectionSeesCommitsAndFencesTheFirst) {
  auto other = env_->open();
  ASSERT_NE(other, nullptr);
  auto e = *j_->take_epoch("a|1");
  ASSERT_FALSE(j_->append("a|1", e, events(1, 2)));
  auto rec = other->recover("a|1");
  ASSERT_TRUE(rec) << describe(rec.error());
  EXPECT_EQ(rec->events.size(), 2u);
  EXPECT_TRUE(is(j_->append("a|1", e, events(3, 3)), errc::writer_fenced));
  EXPECT_FALSE(other->append("a|1", rec->epoch, events(3, 3)));
  EXPECT_EQ(seqs(*j_, "a|1"), (v{1, 2, 3}));
}

} // namespace
} // namespace troupe::test

namespace troupe::test {
namespace {

TEST_P(JournalConformance, AppendAllAnswersEachRequestAsAppendWould) {
  auto ea = *j_->take_epoch("m|a");
  auto eb = *j_->take_epoch("m|b");
  auto ec = *j_->take_epoch("m|c");
  ASSERT_FALSE(j_->append("m|c", ec, events(1, 1)));
  std::vector<std::string> pids;
  for (int i = 0; i < 300; ++i)
    pids.push_back("m|many-" + std::to_string(i));
  std::vector<uint64_t> epochs;
  for (auto& pid : pids)
    epochs.push_back(*j_->take_epoch(pid));
  auto one = events(1, 1), two = events(1, 2), big = events(1, 40);
  auto gap = events(3, 3);
  std::vector<persistence::journal::append_request> reqs;
  std::string a = "m|a", b = "m|b", c = "m|c";
  reqs.push_back({&a, ea, &two});       // fine
  reqs.push_back({&b, eb + 5, &one});   // stale (wrong) epoch
  reqs.push_back({&c, ec, &gap});       // not the next sequence number
  reqs.push_back({&b, eb, &big});       // more events than one statement
  for (size_t i = 0; i < pids.size(); ++i)
    reqs.push_back({&pids[i], epochs[i], &one});
  ASSERT_FALSE(j_->begin());
  auto res = j_->append_all(reqs);
  ASSERT_FALSE(j_->commit());
  ASSERT_EQ(res.size(), reqs.size());
  EXPECT_FALSE(res[0]) << describe(res[0]);
  EXPECT_TRUE(is(res[1], errc::writer_fenced)) << describe(res[1]);
  EXPECT_TRUE(is(res[2], errc::revision_conflict)) << describe(res[2]);
  EXPECT_FALSE(res[3]) << describe(res[3]);
  for (size_t i = 4; i < res.size(); ++i)
    EXPECT_FALSE(res[i]) << i << ": " << describe(res[i]);
  EXPECT_EQ(seqs(*j_, "m|a"), (v{1, 2}));
  EXPECT_EQ(seqs(*j_, "m|b").size(), 40u);
  EXPECT_EQ(seqs(*j_, "m|c"), (v{1}));
  EXPECT_EQ(seqs(*j_, "m|many-299"), (v{1}));
  EXPECT_EQ(*j_->highest_seq("m|many-150"), 1u);
}

} // namespace
} // namespace troupe::test
