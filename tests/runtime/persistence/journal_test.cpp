// SPDX-License-Identifier: Apache-2.0
// The conformance suite on the in-memory and SQLite journals, and what is
// particular to each.
#include <sqlite3.h>

#include <gtest/gtest.h>

#include "runtime/persistence/journal_conformance.hpp"
#include "runtime/persistence/temp_dir.hpp"
#include "troupe/error.hpp"
#include "troupe/persistence/memory_journal.hpp"
#include "troupe/persistence/sql_journals.hpp"

namespace troupe::test {
namespace {

using namespace troupe::persistence;

struct memory_env : journal_env {
  std::shared_ptr<memory_store> store = std::make_shared<memory_store>();
  std::unique_ptr<journal> open() override {
    return make_memory_journal(store);
  }
};

struct sqlite_env : journal_env {
  temp_dir dir;
  std::unique_ptr<journal> open() override {
    auto j = open_sqlite_journal(dir.file("journal.db"));
    EXPECT_TRUE(j) << describe(j.error());
    return j ? std::move(*j) : nullptr;
  }
};

INSTANTIATE_TEST_SUITE_P(
  Memory, JournalConformance,
  ::testing::Values(journal_backend{
    "memory", [] { return std::unique_ptr<journal_env>(new memory_env); }}),
  [](const auto& info) { return info.param.name; });

INSTANTIATE_TEST_SUITE_P(
  Sqlite, JournalConformance,
  ::testing::Values(journal_backend{
    "sqlite", [] { return std::unique_ptr<journal_env>(new sqlite_env); }}),
  [](const auto& info) { return info.param.name; });

TEST(MemoryJournal, InjectedWriteFailuresWriteNothing) {
  auto store = std::make_shared<memory_store>();
  auto j = make_memory_journal(store);
  auto e = *j->take_epoch("a|1");
  store->fail_writes(1, "disk full");
  auto err = j->append("a|1", e, {record{1, "t", "x"}});
  EXPECT_TRUE(is(err, errc::persistence_failed));
  EXPECT_NE(describe(err).find("disk full"), std::string::npos);
  EXPECT_EQ(store->event_count("a|1"), 0u);
  EXPECT_FALSE(j->append("a|1", e, {record{1, "t", "x"}}));
  EXPECT_EQ(store->event_count("a|1"), 1u);
}

TEST(MemoryJournal, AFailedCommitRollsTheTransactionBack) {
  auto store = std::make_shared<memory_store>();
  auto j = make_memory_journal(store);
  auto e = *j->take_epoch("a|1");
  ASSERT_FALSE(j->begin());
  ASSERT_FALSE(j->append("a|1", e, {record{1, "t", "x"}}));
  store->fail_writes(1);
  EXPECT_TRUE(is(j->commit(), errc::persistence_failed));
  EXPECT_EQ(store->event_count("a|1"), 0u);
  EXPECT_EQ(*j->highest_seq("a|1"), 0u);
}

TEST(MemoryJournal, RecoveryReportsAGapWithItsSequenceNumber) {
  auto store = std::make_shared<memory_store>();
  auto j = make_memory_journal(store);
  auto e = *j->take_epoch("a|1");
  ASSERT_FALSE(j->append("a|1", e, {{1, "t", "1"}, {2, "t", "2"}, {3, "t", "3"}}));
  ASSERT_FALSE(j->delete_events("a|1", 1));
  auto rec = j->recover("a|1");
  ASSERT_FALSE(rec);
  EXPECT_TRUE(is(rec.error(), errc::persistence_failed));
  EXPECT_NE(describe(rec.error()).find("'a|1' sequence number 1"),
            std::string::npos)
    << describe(rec.error());
}

TEST(SqliteJournal, RefusesADatabaseOfAnotherSchemaVersion) {
  temp_dir dir;
  auto path = dir.file("j.db");
  ASSERT_TRUE(open_sqlite_journal(path));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE troupe_schema SET version=99", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto j = open_sqlite_journal(path);
  ASSERT_FALSE(j);
  auto text = describe(j.error());
  EXPECT_NE(text.find("schema version 99, this troupe needs 1"),
            std::string::npos)
    << text;
  EXPECT_EQ(text.find('\n'), std::string::npos);
}

TEST(SqliteJournal, TakesSynchronousNormalOnlyWhenAsked) {
  temp_dir dir;
  EXPECT_TRUE(open_sqlite_journal(dir.file("a.db") + "?synchronous=normal"));
  auto bad = open_sqlite_journal(dir.file("b.db") + "?synchronous=off");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(is(bad.error(), errc::bad_config));
}

TEST(SqliteJournal, NamesTheFileItCannotOpen) {
  auto j = open_sqlite_journal("/nonexistent-dir/x/j.db");
  ASSERT_FALSE(j);
  EXPECT_NE(describe(j.error()).find("/nonexistent-dir/x/j.db"),
            std::string::npos)
    << describe(j.error());
}

TEST(OpenJournal, PicksTheBackendByLocation) {
  temp_dir dir;
  auto m = open_journal("memory:");
  ASSERT_TRUE(m);
  EXPECT_STREQ((*m)->kind(), "memory");
  auto s = open_journal("sqlite:" + dir.file("x.db"));
  ASSERT_TRUE(s) << describe(s.error());
  EXPECT_STREQ((*s)->kind(), "sqlite");
  EXPECT_FALSE(open_journal(""));
}

} // namespace
} // namespace troupe::test
