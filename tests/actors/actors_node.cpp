// SPDX-License-Identifier: Apache-2.0
// A cluster member for the multi-process tests of troupe::actors.
//
//   troupe_actors_node [node flags] [crash=M/R] [topic=NAME]
//
// Hosts pool workers for the tasks "square", "slow_square" (5 ms an item)
// and "crashy" (a square that throws, with crash=M/R, for the items whose
// value % M == R). With topic=NAME it subscribes an actor to that topic
// that prints every troupe_actors_test.Note. Prints what tests wait for:
//   READY port=<p> name=<n>    once it listens
//   CLUSTER up=<n>             when the number of up members changes
//   GOT <publisher> <seq>      (topic) for each Note received
#include <chrono>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include <caf/event_based_actor.hpp>
#include <troupe/actors/pool.hpp>
#include <troupe/actors/topic.hpp>
#include <troupe/error.hpp>
#include <troupe/node/node.hpp>

#include "troupe_actors_test/numbers.pb.h"

using troupe_actors_test::Note;
using troupe_actors_test::Num;

namespace {

std::mutex out_mtx;

void say(const std::string& line) {
  std::lock_guard<std::mutex> guard{out_mtx};
  std::cout << line << std::endl;
}

Num square(const Num& x) {
  Num y;
  y.set_value(x.value() * x.value());
  return y;
}

} // namespace

int main(int argc, char** argv) {
  auto parsed = troupe::parse_node_config(argc, argv, true);
  if (!parsed) {
    std::cerr << "actors_node: " << troupe::describe(parsed.error()) << '\n';
    return 2;
  }
  int64_t crash_mod = 0;
  int64_t crash_rem = 0;
  std::string topic_name;
  for (auto& arg : parsed->positional) {
    if (arg.rfind("crash=", 0) == 0) {
      auto slash = arg.find('/');
      crash_mod = std::stoll(arg.substr(6, slash - 6));
      crash_rem = std::stoll(arg.substr(slash + 1));
    } else if (arg.rfind("topic=", 0) == 0) {
      topic_name = arg.substr(6);
    } else {
      std::cerr << "actors_node: unknown argument " << arg << '\n';
      return 2;
    }
  }
  auto tasks = std::make_shared<troupe::actors::task_registry>();
  tasks->add<Num, Num>("square", square);
  tasks->add<Num, Num>("slow_square", [](const Num& x) {
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
    return square(x);
  });
  tasks->add<Num, Num>("crashy", [crash_mod, crash_rem](const Num& x) {
    if (crash_mod > 0 && x.value() % crash_mod == crash_rem)
      throw std::runtime_error("crashy: " + std::to_string(x.value()));
    return square(x);
  });
  troupe::node n{parsed->config};
  n.add_message_type<Note>();
  troupe::actors::host_workers(n, tasks);
  if (auto err = n.start()) {
    std::cerr << "actors_node: " << troupe::describe(err) << '\n';
    return 1;
  }
  auto printer = n.system().spawn([&n](caf::event_based_actor* self) {
    auto last_up = std::make_shared<size_t>(0);
    return caf::behavior{
      [=, &n](const troupe::member_event&) {
        size_t up = 0;
        for (auto& m : n.members())
          if (m.status == troupe::member_status::up)
            ++up;
        if (up != *last_up) {
          *last_up = up;
          say("CLUSTER up=" + std::to_string(up));
        }
      },
      [](const Note& note) {
        say("GOT " + note.publisher() + " " + std::to_string(note.seq()));
      },
    };
  });
  n.track(printer);
  n.subscribe_members(printer);
  std::optional<troupe::actors::topic> topic;
  if (!topic_name.empty()) {
    topic.emplace(n, topic_name);
    topic->subscribe(printer);
  }
  say("READY port=" + std::to_string(n.port()) + " name=" + n.name());
  auto rc = n.run();
  return rc;
}
