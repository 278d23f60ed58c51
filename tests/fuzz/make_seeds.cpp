// SPDX-License-Identifier: Apache-2.0
// Writes the binary seeds of tests/fuzz/corpus/ (wire_decode, link_frame,
// introspect): valid messages of the node's own types and of the tests,
// plus a few near misses, encoded as a node encodes them. The node_config
// seeds are plain text, written by hand.
//
// Usage: fuzz_make_seeds <corpus dir>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/make_message.hpp>
#include <caf/sec.hpp>

#include "cluster/link_frame.hpp"
#include "fuzz_system.hpp"
#include "troupe/wire/cluster.pb.h"
#include "troupe/wire/introspect.pb.h"
#include "troupe/wire/node.pb.h"
#include "wire/proto_value.hpp"

using namespace troupe;
namespace lf = troupe::cluster::link_frame;
using bytes = std::vector<char>;

namespace {

/// A system that can encode anything the seeds hold (the unregistered
/// test type included), with a size limit of `limit`.
struct encoder {
  wire::detail::config_base cfg;
  std::unique_ptr<caf::actor_system> sys;

  explicit encoder(size_t limit) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.console", caf::atom("none"));
    fuzz::add_node_types(cfg.types);
    cfg.types.add<troupe_test::Unregistered>();
    cfg.types.max_message_size = limit;
    cfg.install_types();
    sys = std::make_unique<caf::actor_system>(cfg);
  }

  /// The content of a BASP message: no stages, then `msg`.
  bytes basp(caf::message msg) {
    bytes out;
    caf::binary_serializer sink{sys->dummy_execution_unit(), out};
    std::vector<caf::strong_actor_ptr> stages;
    if (sink(stages, msg))
      throw std::runtime_error("cannot encode a seed");
    return out;
  }

  template <class T>
  bytes serialize(T& x) {
    bytes out;
    caf::binary_serializer sink{sys->dummy_execution_unit(), out};
    if (sink(x))
      throw std::runtime_error("cannot encode a seed");
    return out;
  }
};

void put_u8(bytes& out, uint8_t x) {
  out.push_back(static_cast<char>(x));
}

void put_u64(bytes& out, uint64_t x) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>(x >> (56 - 8 * i)));
}

void append(bytes& out, const bytes& x) {
  out.insert(out.end(), x.begin(), x.end());
}

void append(bytes& out, const std::string& x) {
  out.insert(out.end(), x.begin(), x.end());
}

void write(const std::string& dir, const std::string& name, const bytes& x) {
  std::ofstream out{dir + "/" + name, std::ios::binary};
  out.write(x.data(), static_cast<std::streamsize>(x.size()));
  if (!out)
    throw std::runtime_error("cannot write " + dir + "/" + name);
}

troupe_test::Ping ping(uint64_t seq, size_t blob) {
  troupe_test::Ping x;
  x.set_seq(seq);
  x.set_blob(std::string(blob, 'b'));
  return x;
}

wire::Member member(const std::string& name, uint32_t port) {
  wire::Member m;
  m.set_name(name);
  m.set_incarnation(3);
  m.set_host("127.0.0.1");
  m.set_port(port);
  m.set_status(wire::UP);
  m.set_load(2);
  m.add_actor_types("echo");
  return m;
}

/// Messages of the BASP seeds (wire_decode, introspect).
std::vector<std::pair<std::string, caf::message>> basp_messages() {
  std::vector<std::pair<std::string, caf::message>> out;
  out.emplace_back("ping", caf::make_message(ping(7, 5)));
  troupe_test::Pong pong;
  pong.set_seq(7);
  pong.set_from("n1");
  out.emplace_back("pong", caf::make_message(pong));
  out.emplace_back("ping_over_limit", caf::make_message(ping(1, 600)));
  troupe_test::Unregistered unreg;
  unreg.set_text("who?");
  out.emplace_back("unregistered", caf::make_message(unreg));
  out.emplace_back("mixed", caf::make_message(caf::atom("ok"), int32_t{42},
                                              std::string{"x"}, ping(2, 3)));
  out.emplace_back("error", caf::make_message(caf::make_error(
                                caf::sec::invalid_argument, "why")));
  wire::Join join;
  *join.mutable_member() = member("n2", 4000);
  join.set_heartbeat_ms(500);
  join.set_failure_timeout_ms(5000);
  out.emplace_back("join", caf::make_message(join));
  wire::Welcome welcome;
  *welcome.add_members() = member("n1", 4001);
  *welcome.add_members() = member("n2", 4002);
  out.emplace_back("welcome", caf::make_message(welcome));
  wire::Lookup lookup;
  lookup.set_name("troupe.introspect");
  out.emplace_back("lookup", caf::make_message(lookup));
  wire::SnapshotRequest local;
  out.emplace_back("snapshot_local", caf::make_message(local));
  wire::SnapshotRequest cluster;
  cluster.set_cluster(true);
  out.emplace_back("snapshot_cluster", caf::make_message(cluster));
  wire::KillRequest kill;
  kill.set_path("/root/workers/w1");
  kill.set_secret("s3cret");
  out.emplace_back("kill", caf::make_message(kill));
  kill.set_secret("");
  out.emplace_back("kill_no_secret", caf::make_message(kill));
  kill.set_path("root");
  out.emplace_back("kill_bad_path", caf::make_message(kill));
  kill.set_path("/root/workers/w1");
  kill.set_mode(wire::KillRequest::THROW);
  out.emplace_back("kill_throw", caf::make_message(kill));
  kill.set_mode(static_cast<wire::KillRequest::Mode>(7));
  out.emplace_back("kill_bad_mode", caf::make_message(kill));
  wire::ClusterSnapshot snap;
  snap.set_answered_by("n1");
  auto& node = *snap.add_nodes();
  *node.mutable_member() = member("n1", 4001);
  node.set_reachable(true);
  auto& actor = *node.add_actors();
  actor.set_path("/root/a");
  actor.set_kind(wire::ActorInfo::SUPERVISOR);
  actor.mutable_figures()->set_msgs_per_sec(1.5);
  out.emplace_back("cluster_snapshot", caf::make_message(snap));
  wire::GossipDigest digest;
  digest.set_view_digest(0x1234);
  digest.add_names("n1");
  digest.add_digests(0x99);
  out.emplace_back("gossip_digest", caf::make_message(digest));
  wire::MemberRecord rec;
  rec.set_name("n2");
  rec.set_incarnation(3);
  rec.set_status(wire::G_DOWN);
  rec.set_endpoint("127.0.0.1:4002");
  auto& seen = *rec.add_observations();
  seen.set_observer("n1");
  seen.set_unreachable(true);
  seen.set_observer_incarnation(1);
  seen.set_seq(5);
  wire::GossipDelta delta;
  *delta.add_records() = rec;
  delta.add_wanted("n3");
  out.emplace_back("gossip_delta", caf::make_message(delta));
  wire::GossipRecords records;
  *records.add_records() = rec;
  out.emplace_back("gossip_records", caf::make_message(records));
  return out;
}

void basp_seeds(encoder& enc, encoder& small, const std::string& dir) {
  for (auto& [name, msg] : basp_messages())
    write(dir, name, enc.basp(msg));
  // The sender refused a message over its own limit: only the size comes.
  write(dir, "refused_by_sender", small.basp(caf::make_message(ping(3, 200))));
  // Protobuf bytes that do not parse (a field tag of 0).
  auto bad = enc.basp(caf::make_message(ping(0, 4)));
  std::fill(bad.end() - 6, bad.end(), '\0');
  write(dir, "ping_malformed", bad);
}

bytes frame_head(uint8_t sender_kind, uint64_t sender) {
  bytes out;
  put_u8(out, lf::kind_message);
  put_u64(out, 42); // destination actor
  put_u64(out, 0);  // message id: asynchronous
  put_u8(out, sender_kind);
  if (sender_kind != lf::sender_none)
    put_u64(out, sender);
  return out;
}

void proto_payload(bytes& out, const google::protobuf::Message& x) {
  put_u8(out, lf::payload_proto);
  auto& name = x.GetDescriptor()->full_name();
  put_u8(out, static_cast<uint8_t>(name.size()));
  append(out, name);
  append(out, x.SerializeAsString());
}

void link_seeds(encoder& enc, const std::string& dir) {
  // A node id as a node's middleman makes it (this system has none).
  caf::node_id::default_data::host_id_type host_id;
  for (size_t i = 0; i < host_id.size(); ++i)
    host_id[i] = static_cast<uint8_t>(i * 7 + 1);
  auto nid = caf::make_node_id(4242, host_id);
  // Handshakes.
  bytes hello;
  put_u8(hello, lf::kind_hello);
  hello.insert(hello.end(), lf::hello_magic, lf::hello_magic + 4);
  append(hello, enc.serialize(nid));
  write(dir, "hello_no_back_address", hello);
  uint16_t port = 4100;
  std::string host = "127.0.0.1";
  append(hello, enc.serialize(port));
  append(hello, enc.serialize(host));
  write(dir, "hello", hello);
  // Message frames, one per sender kind and payload kind.
  auto f = frame_head(lf::sender_none, 0);
  proto_payload(f, ping(1, 8));
  write(dir, "proto_no_sender", f);
  f = frame_head(lf::sender_of_writer, 7);
  proto_payload(f, ping(2, 0));
  write(dir, "proto_writer", f);
  f = frame_head(lf::sender_of_reader, 9);
  wire::KillRequest kill;
  kill.set_path("/root/a");
  proto_payload(f, kill);
  write(dir, "proto_reader", f);
  f = frame_head(lf::sender_of_writer, 7);
  troupe_test::Unregistered unreg;
  unreg.set_text("who?");
  proto_payload(f, unreg);
  write(dir, "proto_unregistered", f);
  f = frame_head(lf::sender_none, 0);
  proto_payload(f, ping(3, 600));
  write(dir, "proto_over_limit", f);
  f = frame_head(lf::sender_none, 0);
  proto_payload(f, ping(3, 6));
  std::fill(f.end() - 10, f.end(), '\xff');
  write(dir, "proto_malformed", f);
  f = frame_head(lf::sender_full, 11);
  append(f, enc.serialize(nid));
  put_u8(f, lf::payload_caf);
  auto msg = caf::make_message(caf::atom("ping"), int32_t{1}, ping(4, 2));
  append(f, enc.serialize(msg));
  write(dir, "caf_full_sender", f);
  f = frame_head(lf::sender_none, 0);
  put_u8(f, lf::payload_caf);
  msg = caf::make_message(std::string{"text"}, uint64_t{9});
  append(f, enc.serialize(msg));
  write(dir, "caf_no_sender", f);
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_make_seeds <corpus dir>\n";
    return 2;
  }
  std::string root = argv[1];
  set_log_level(log_level::off);
  encoder enc{4 << 20};
  encoder small{100};
  basp_seeds(enc, small, root + "/wire_decode");
  basp_seeds(enc, small, root + "/introspect");
  link_seeds(enc, root + "/link_frame");
  std::cout << "seeds written to " << root << "\n";
  return 0;
}
