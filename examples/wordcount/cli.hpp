// The command line and start of wordcount's modes: its own counts next to the
// node flags, and `run` waiting for a node that hosts its actors.
#pragma once

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <caf/scoped_actor.hpp>
#include <troupe/node/node.hpp>

namespace wordcount {

// Takes `--key N` / `--key=N` for the keys in `out` out of `args`.
inline bool take_counts(std::vector<std::string>& args,
                        std::map<std::string, size_t>& out) {
  for (size_t i = 0; i < args.size(); ++i) {
    auto eq = args[i].find('=');
    auto key = args[i].substr(0, eq);
    if (!out.count(key))
      continue;
    std::string value;
    if (eq != key.npos)
      value = args[i].substr(eq + 1);
    else if (i + 1 < args.size())
      value = args[i + 1], args.erase(args.begin() + i + 1);
    args.erase(args.begin() + i);
    if (value.empty() || value.find_first_not_of("0123456789") != value.npos ||
        value.size() > 10 || std::stoul(value) == 0) {
      std::cerr << "wordcount: " << key << " needs a positive number\n";
      return false;
    }
    out[key] = std::stoul(value);
    --i;
  }
  return true;
}

// In `run` mode: waits until a member that hosts mappers is up.
inline bool await_host(troupe::node& n) {
  caf::scoped_actor self{n.system()};
  n.subscribe_members(caf::actor_cast<caf::actor>(self));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  bool up = false;
  while (!up && std::chrono::steady_clock::now() < deadline)
    self->receive(
        [&](troupe::member_event& e) {
          auto& t = e.member.actor_types;
          up = e.member.status == troupe::member_status::up &&
               std::find(t.begin(), t.end(), "mapper") != t.end();
        },
        caf::after(std::chrono::seconds{1}) >> [] {});
  return up;
}

} // namespace wordcount
