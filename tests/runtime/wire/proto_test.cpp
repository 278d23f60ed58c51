// SPDX-License-Identifier: Apache-2.0
#include "troupe/wire/proto.hpp"

#include <string>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/message.hpp>
#include <caf/send.hpp>
#include <gtest/gtest.h>

#include "runtime/deterministic.hpp"
#include "troupe/actor/spawn.hpp"
#include "troupe/log.hpp"
#include "troupe/wire/rejected_message.hpp"
#include "troupe/wire/stats.hpp"
#include "troupe_test/test.pb.h"
#include "wire/codec.hpp"

using troupe::test::deterministic;
using troupe::wire::rejected_message;
using troupe::wire::detail::config_base;
using troupe_test::Ping;

namespace {

Ping make_ping(uint64_t seq, size_t blob_size) {
  Ping x;
  x.set_seq(seq);
  x.set_blob(std::string(blob_size, 'x'));
  return x;
}

// Encodes `msg` as CAF's networking layer does.
std::vector<char> encode(caf::actor_system& sys, const caf::message& msg) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto err = sink(const_cast<caf::message&>(msg));
  EXPECT_FALSE(err) << caf::to_string(err);
  return buf;
}

// Note: `source(msg)` would swallow a decoding error and yield an empty
// message (CAF 0.17 does the same inside BASP); `load` reports it.
caf::message decode(caf::actor_system& sys, const std::vector<char>& buf) {
  caf::message msg;
  caf::binary_deserializer source{sys, buf};
  auto err = msg.load(source);
  EXPECT_FALSE(err) << caf::to_string(err);
  return msg;
}

auto with_ping(size_t limit = 4 << 20) {
  return [limit](config_base& cfg) {
    cfg.types.add<Ping>();
    cfg.types.max_message_size = limit;
  };
}

bool contains(const std::vector<char>& buf, const std::string& what) {
  return std::search(buf.begin(), buf.end(), what.begin(), what.end())
         != buf.end();
}

} // namespace

TEST(Wire, LocalSendMovesTheMessageAndNeverEncodesIt) {
  deterministic ctx{with_ping()};
  struct st {
    const char* seen = nullptr;
  };
  const char* seen = nullptr;
  auto sink = troupe::spawn(*ctx.sys, [&seen](troupe::stateful_actor<st>* s)
                                         -> caf::behavior {
    return {[&seen](Ping& x) { seen = x.blob().data(); }};
  });
  ctx.run();
  auto before = troupe::wire::read_stats();
  auto msg = make_ping(1, 1 << 20);
  const char* original = msg.blob().data();
  caf::anon_send(sink, std::move(msg));
  ctx.run();
  auto after = troupe::wire::read_stats();
  EXPECT_EQ(seen, original) << "the 1 MiB blob was copied, not moved";
  EXPECT_EQ(after.encoded, before.encoded);
  EXPECT_EQ(after.decoded, before.decoded);
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
  ctx.run();
}

TEST(Wire, EncodesWithTheProtobufFullNameAndDecodesToTheGeneratedClass) {
  deterministic a{with_ping()};
  deterministic b{with_ping()};
  auto bytes = encode(*a.sys, caf::make_message(make_ping(7, 16)));
  EXPECT_TRUE(contains(bytes, "troupe_test.Ping"));
  auto msg = decode(*b.sys, bytes);
  ASSERT_TRUE(msg.match_elements<Ping>()) << caf::to_string(msg);
  EXPECT_EQ(msg.get_as<Ping>(0).seq(), 7u);
  EXPECT_EQ(msg.get_as<Ping>(0).blob(), std::string(16, 'x'));
}

TEST(Wire, MixedMessagesKeepTheirOtherElements) {
  deterministic a{with_ping()};
  auto bytes = encode(*a.sys, caf::make_message(make_ping(3, 0), 42,
                                                std::string{"tail"}));
  auto msg = decode(*a.sys, bytes);
  ASSERT_TRUE((msg.match_elements<Ping, int, std::string>()));
  EXPECT_EQ(msg.get_as<int>(1), 42);
  EXPECT_EQ(msg.get_as<std::string>(2), "tail");
}

TEST(Wire, UnregisteredTypeArrivesAsRejectedMessage) {
  deterministic a{with_ping()};
  deterministic b; // knows no user types
  auto before = troupe::wire::read_stats();
  auto msg = decode(*b.sys, encode(*a.sys, caf::make_message(make_ping(1, 8))));
  ASSERT_TRUE(msg.match_elements<rejected_message>());
  auto& rej = msg.get_as<rejected_message>(0);
  EXPECT_EQ(rej.type_name, "troupe_test.Ping");
  EXPECT_EQ(rej.reason, "unregistered type");
  EXPECT_EQ(troupe::wire::read_stats().rejected, before.rejected + 1);
}

TEST(Wire, OversizedPayloadIsRejectedByTheReceiver) {
  deterministic a{with_ping()};
  deterministic b{with_ping(100)};
  auto msg = decode(*b.sys,
                    encode(*a.sys, caf::make_message(make_ping(1, 1000))));
  ASSERT_TRUE(msg.match_elements<rejected_message>());
  EXPECT_NE(msg.get_as<rejected_message>(0).reason.find("max-message-size 100"),
            std::string::npos);
}

TEST(Wire, OversizedPayloadIsNotEncodedBySender) {
  deterministic a{with_ping(100)};
  deterministic b{with_ping()};
  auto bytes = encode(*a.sys, caf::make_message(make_ping(1, 1000)));
  EXPECT_LT(bytes.size(), 200u) << "the payload must not be on the wire";
  auto msg = decode(*b.sys, bytes);
  ASSERT_TRUE(msg.match_elements<rejected_message>());
  EXPECT_NE(msg.get_as<rejected_message>(0).reason.find("sender refused"),
            std::string::npos);
}

TEST(Wire, TruncatedPayloadIsRejectedAsMalformed) {
  deterministic b{with_ping()};
  auto full = make_ping(1, 100).SerializeAsString();
  auto cut = full.substr(0, full.size() / 2);
  // Frame a truncated Protobuf payload exactly as a peer would.
  std::vector<char> buf;
  caf::binary_serializer sink{*b.sys, buf};
  uint16_t zero = 0;
  std::string tname = "@<>+troupe.proto";
  std::string type = "troupe_test.Ping";
  uint8_t status = 0;
  size_t n = cut.size();
  ASSERT_FALSE(sink.begin_object(zero, tname));
  ASSERT_FALSE(sink(type, status));
  ASSERT_FALSE(sink.begin_sequence(n));
  ASSERT_FALSE(sink.apply_raw(n, cut.data()));
  ASSERT_FALSE(sink.end_sequence());
  ASSERT_FALSE(sink.end_object());
  auto msg = decode(*b.sys, buf);
  ASSERT_TRUE(msg.match_elements<rejected_message>());
  EXPECT_NE(msg.get_as<rejected_message>(0).reason.find("malformed"),
            std::string::npos);
}

TEST(Wire, CorruptFrameFailsToDecodeWithoutCrashing) {
  deterministic a{with_ping()};
  auto bytes = encode(*a.sys, caf::make_message(make_ping(1, 64)));
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    std::vector<char> part(bytes.begin(), bytes.begin() + cut);
    caf::message msg;
    caf::binary_deserializer source{*a.sys, part};
    EXPECT_TRUE(msg.load(source)) << "cut at " << cut << " decoded";
  }
}

TEST(Wire, PayloadOverWhatProtobufParsesIsRefusedWithoutReadingIt) {
  // Protobuf takes an int size: 2 GiB would wrap around to a negative one.
  // Found by tests/fuzz (node_config accepted max-message-size 2^31).
  Ping x;
  char byte = 0;
  EXPECT_FALSE(troupe::wire::detail::parse_payload(x, &byte, size_t{1} << 31));
  EXPECT_TRUE(troupe::wire::detail::parse_payload(x, &byte, 0));
}

TEST(Wire, ProtobufParseErrorsGoToTroupesDebugLog) {
  // Found by tests/fuzz: a string field that is not UTF-8 made Protobuf
  // print a line on stderr for every such message a peer sent.
  deterministic a{[](config_base& cfg) { cfg.types.add<troupe_test::Pong>(); }};
  const char bad[] = {0x12, 0x02, '\xff', '\xfe'}; // Pong.from = "\xff\xfe"
  troupe_test::Pong pong;
  testing::internal::CaptureStderr();
  bool ok = troupe::wire::detail::parse_payload(pong, bad, sizeof(bad));
  auto err = testing::internal::GetCapturedStderr();
  EXPECT_FALSE(ok);
  EXPECT_EQ(err, "") << "nothing at the default log level";
  std::vector<std::string> lines;
  troupe::set_log_level(troupe::log_level::debug);
  troupe::set_log_observer([&](troupe::log_level lvl, std::string_view line) {
    if (lvl == troupe::log_level::debug)
      lines.emplace_back(line);
  });
  testing::internal::CaptureStderr();
  EXPECT_FALSE(troupe::wire::detail::parse_payload(pong, bad, sizeof(bad)));
  testing::internal::GetCapturedStderr();
  troupe::set_log_observer(nullptr);
  troupe::set_log_level(troupe::log_level::info);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines.front().find("UTF-8"), std::string::npos) << lines.front();
}
