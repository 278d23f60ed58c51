// SPDX-License-Identifier: Apache-2.0
// The etcd client against a real etcd, and against endpoints that are
// dead, silent or send garbage.
#include "cluster/etcd/client.hpp"

#include <atomic>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "runtime/cluster/etcd/etcd_server.hpp"
#include "runtime/cluster/etcd/fake_endpoint.hpp"

using namespace troupe::cluster::etcd;
using namespace std::chrono_literals;
using troupe::test::etcd_server;
using troupe::test::fake_endpoint;
using troupe::test::http_ok;

namespace {

client make_client(const std::vector<std::string>& eps,
                   std::chrono::milliseconds timeout = 2000ms) {
  auto parsed = parse_endpoints(eps);
  EXPECT_TRUE(parsed);
  client_settings s;
  s.endpoints = *parsed;
  s.timeout = timeout;
  return client{s};
}

class EtcdClient : public ::testing::Test {
protected:
  void SetUp() override {
    if (!etcd_server::available())
      GTEST_SKIP() << etcd_server::binary << " is missing";
    etcd_ = std::make_unique<etcd_server>();
  }

  std::unique_ptr<etcd_server> etcd_;
};

// A closed port: nothing listens there.
std::string dead_endpoint() {
  return "127.0.0.1:" + std::to_string(troupe::test::free_port());
}

} // namespace

TEST_F(EtcdClient, PutsRangesAndDeletesUnderAPrefix) {
  auto c = make_client({etcd_->endpoint()});
  auto r1 = c.put("/p/a", "1");
  ASSERT_TRUE(r1) << describe(r1.err());
  std::string binary_value{"\0\xff\x01", 3};
  ASSERT_TRUE(c.put("/p/b", binary_value));
  ASSERT_TRUE(c.put("/q/c", "3"));
  auto range = c.range_prefix("/p/");
  ASSERT_TRUE(range) << describe(range.err());
  ASSERT_EQ(range->kvs.size(), 2u);
  EXPECT_EQ(range->kvs[0].key, "/p/a");
  EXPECT_EQ(range->kvs[0].value, "1");
  EXPECT_EQ(range->kvs[1].value, binary_value);
  EXPECT_GT(range->revision, *r1);
  auto deleted = c.delete_range("/p/", true);
  ASSERT_TRUE(deleted);
  EXPECT_EQ(*deleted, 2);
  auto after = c.range_prefix("/");
  ASSERT_TRUE(after);
  ASSERT_EQ(after->kvs.size(), 1u);
  EXPECT_EQ(after->kvs[0].key, "/q/c");
}

TEST_F(EtcdClient, LeasesAreGrantedRenewedAndRevokedWithTheirKeys) {
  auto c = make_client({etcd_->endpoint()});
  auto lease = c.grant(5s);
  ASSERT_TRUE(lease) << describe(lease.err());
  EXPECT_EQ(lease->ttl, 5s);
  ASSERT_TRUE(c.put("/l/k", "v", lease->id));
  auto ttl = c.keep_alive(lease->id);
  ASSERT_TRUE(ttl) << describe(ttl.err());
  EXPECT_EQ(*ttl, 5s);
  auto range = c.range_prefix("/l/");
  ASSERT_TRUE(range);
  ASSERT_EQ(range->kvs.size(), 1u);
  EXPECT_EQ(range->kvs[0].lease, lease->id);
  ASSERT_TRUE(c.revoke(lease->id));
  range = c.range_prefix("/l/");
  ASSERT_TRUE(range);
  EXPECT_TRUE(range->kvs.empty());
  // A lease etcd no longer has: renewing it says so, revoking is done.
  ttl = c.keep_alive(lease->id);
  ASSERT_TRUE(ttl);
  EXPECT_EQ(*ttl, 0s);
  EXPECT_TRUE(c.revoke(lease->id));
  // Putting under it is etcd's error, as a value.
  auto put = c.put("/l/k", "v", lease->id);
  ASSERT_FALSE(put);
  EXPECT_EQ(put.err().code, errc::rejected);
  EXPECT_NE(put.err().message.find("lease not found"), std::string::npos)
      << put.err().message;
}

TEST_F(EtcdClient, WatchReportsPutsAndDeletesFromARevision) {
  auto c = make_client({etcd_->endpoint()});
  auto first = c.put("/w/a", "1");
  ASSERT_TRUE(first);
  ASSERT_TRUE(c.put("/w/b", "2"));
  ASSERT_TRUE(c.delete_range("/w/a"));
  ASSERT_TRUE(c.put("/x/not-watched", "3"));
  std::vector<std::string> seen;
  auto res = c.watch_prefix("/w/", *first, [&](const watch_batch& b) {
    for (auto& ev : b.events)
      seen.push_back((ev.type == watch_event::put ? "put " : "del ") +
                     ev.kv.key + "=" + ev.kv.value);
    return seen.size() < 3;
  });
  ASSERT_TRUE(res) << describe(res.err());
  EXPECT_EQ(seen, (std::vector<std::string>{"put /w/a=1", "put /w/b=2",
                                            "del /w/a="}));
}

TEST_F(EtcdClient, AWatchFromACompactedRevisionIsRejected) {
  auto c = make_client({etcd_->endpoint()});
  auto first = c.put("/w/a", "1");
  ASSERT_TRUE(first);
  auto last = c.put("/w/a", "2");
  ASSERT_TRUE(last);
  ASSERT_TRUE(c.compact(*last));
  int batches = 0;
  auto res = c.watch_prefix("/w/", *first, [&](const watch_batch&) {
    ++batches;
    return true;
  });
  ASSERT_FALSE(res);
  EXPECT_EQ(res.err().code, errc::rejected);
  EXPECT_NE(res.err().message.find("compacted at revision"), std::string::npos)
      << res.err().message;
}

TEST_F(EtcdClient, AWatchEndsPromptlyWhenCancelled) {
  auto c = make_client({etcd_->endpoint()});
  std::atomic<bool> created{false};
  std::atomic<bool> cancel{false};
  std::chrono::steady_clock::time_point cancelled_at;
  std::thread canceller{[&] {
    // Waits for etcd's first answer (bounded), then cancels.
    for (int i = 0; i < 500 && !created; ++i)
      std::this_thread::sleep_for(10ms);
    cancelled_at = std::chrono::steady_clock::now();
    cancel = true;
  }};
  auto res = c.watch_prefix(
      "/w/", 0,
      [&](const watch_batch& b) {
        created = created || b.created;
        return true;
      },
      [&] {
        return cancel.load();
      });
  auto ended = std::chrono::steady_clock::now();
  canceller.join();
  EXPECT_TRUE(created);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.err().code, errc::cancelled);
  EXPECT_LT(ended - cancelled_at, 500ms);
}

TEST_F(EtcdClient, MovesOnToTheNextEndpointWhenOneIsDown) {
  auto c = make_client({dead_endpoint(), etcd_->endpoint()});
  auto put = c.put("/f/a", "1");
  ASSERT_TRUE(put) << describe(put.err());
  auto range = c.range_prefix("/f/");
  ASSERT_TRUE(range) << describe(range.err());
  EXPECT_EQ(range->kvs.size(), 1u);
}

TEST(EtcdClientFailures, ADeadEndpointIsUnreachable) {
  auto c = make_client({dead_endpoint(), dead_endpoint()});
  auto res = c.range_prefix("/");
  ASSERT_FALSE(res);
  EXPECT_EQ(res.err().code, errc::unreachable);
  EXPECT_NE(res.err().message.find("every endpoint failed"), std::string::npos)
      << res.err().message;
}

TEST(EtcdClientFailures, ASilentEndpointTimesOutWithinTheCallTimeout) {
  fake_endpoint silent{"", true};
  auto c = make_client({silent.endpoint()}, 300ms);
  auto t0 = std::chrono::steady_clock::now();
  auto res = c.grant(3s);
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(res);
  EXPECT_EQ(res.err().code, errc::timeout) << describe(res.err());
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 1s);
  // A watch waits no longer for its first answer.
  t0 = std::chrono::steady_clock::now();
  auto w = c.watch_prefix("/", 0, [](const watch_batch&) {
    return true;
  });
  ASSERT_FALSE(w);
  EXPECT_EQ(w.err().code, errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
}

TEST(EtcdClientFailures, GarbageAnswersAreErrorsNotCrashes) {
  struct garbage_case {
    const char* what;
    std::string answer;
    const char* expect;
  };
  std::vector<garbage_case> cases{
      {"not HTTP", "hello, I am not etcd\r\n\r\n", "not an HTTP answer"},
      {"not JSON", http_ok("{garbage"), "not a JSON object"},
      {"JSON array", http_ok("[1,2,3]"), "not a JSON object"},
      {"no header", http_ok(R"({"kvs":[]})"), "no object 'header'"},
      {"revision not a number",
       http_ok(R"({"header":{"revision":"x1"},"kvs":[]})"), "not an integer"},
      {"kvs not an array", http_ok(R"({"header":{"revision":"1"},"kvs":5})"),
       "not an array"},
      {"key not base64",
       http_ok(R"({"header":{"revision":"1"},"kvs":[{"key":"!!"}]})"),
       "not base64"},
      {"kv not an object", http_ok(R"({"header":{"revision":"1"},"kvs":[7]})"),
       "not an object"},
      {"HTTP 404",
       "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nNot Found",
       "HTTP 404"},
      {"cut short", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"hea",
       "connection closed"},
  };
  for (auto& x : cases) {
    fake_endpoint fake{x.answer};
    auto c = make_client({fake.endpoint()}, 1000ms);
    auto res = c.range_prefix("/troupe/");
    ASSERT_FALSE(res) << x.what;
    EXPECT_NE(res.err().message.find(x.expect), std::string::npos)
        << x.what << ": " << describe(res.err());
    EXPECT_EQ(fake.requests(), 1) << x.what;
  }
}

TEST(EtcdClientFailures, AGarbageWatchStreamIsAnError) {
  for (auto line :
       {std::string{"not json\n"},
        std::string{R"({"result":{"header":{"revision":"1"},"events":5}})"
                    "\n"},
        std::string{R"({"result":{"header":{"revision":"1"},"events":)"
                    R"([{"type":"BOGUS","kv":{}}]}})"
                    "\n"},
        std::string{R"({"error":{"grpc_code":14,"message":"boom"}})"
                    "\n"}}) {
    fake_endpoint fake{http_ok(line)};
    auto c = make_client({fake.endpoint()}, 1000ms);
    int batches = 0;
    auto res = c.watch_prefix("/", 0, [&](const watch_batch&) {
      ++batches;
      return true;
    });
    ASSERT_FALSE(res) << line;
    EXPECT_TRUE(res.err().code == errc::bad_response ||
                res.err().code == errc::rejected)
        << describe(res.err());
    EXPECT_EQ(batches, 0) << line;
  }
}

TEST(EtcdClientFailures, BadEndpointsAreRefusedUpFront) {
  auto res = parse_endpoints({"127.0.0.1:2379", "nonsense"});
  ASSERT_FALSE(res);
  EXPECT_EQ(res.err().code, errc::invalid);
  EXPECT_NE(res.err().message.find("bad etcd endpoint"), std::string::npos);
  EXPECT_FALSE(parse_endpoints({}));
}

TEST(EtcdClientFailures, PrefixEndIsTheFirstKeyAfterThePrefix) {
  EXPECT_EQ(prefix_end("/a/"), "/a0");
  EXPECT_EQ(prefix_end(std::string{"a\xff", 2}), "b");
  EXPECT_EQ(prefix_end(std::string{"\xff", 1}), std::string(1, '\0'));
}
