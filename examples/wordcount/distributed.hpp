// SPDX-License-Identifier: Apache-2.0
// The distributed count: mappers and reducers spread over the nodes that
// host them, every chunk sent at once, and the reducers' counts collected.
#pragma once

#include <chrono>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <caf/scoped_actor.hpp>
#include <troupe/error.hpp>

#include "corpus.hpp"
#include "mapreduce.hpp"

namespace wordcount {

using namespace std::chrono_literals;

/// One request; an error throws.
template <class T>
T ask(caf::scoped_actor& self, const caf::actor& hdl, caf::message msg) {
  T out;
  self->request(hdl, 60s, std::move(msg))
      .receive(
          [&](T& x) {
            out = std::move(x);
          },
          [](caf::error& e) {
            throw std::runtime_error(troupe::describe(e));
          });
  return out;
}

inline std::map<std::string, uint64_t>
count_distributed(troupe::node& n, const std::string& text, size_t mappers,
                  size_t reducers) {
  caf::scoped_actor self{n.system()};
  std::vector<caf::actor> rs, ms, all;
  auto spawn = [&](const char* type, caf::message args) {
    auto hdl = n.spawn_placed(type, troupe::placement::spread, args);
    if (!hdl)
      throw std::runtime_error(troupe::describe(hdl.error()));
    all.push_back(*hdl);
    return *hdl;
  };
  std::map<std::string, uint64_t> result;
  try {
    for (size_t i = 0; i < reducers; ++i)
      rs.push_back(spawn("reducer", {}));
    for (size_t i = 0; i < mappers; ++i)
      ms.push_back(spawn("mapper", caf::make_message(rs)));
    // Every chunk at once, to the mappers in turn; each answers when its
    // reducers have taken their parts, so then the reducers hold it all.
    auto parts = chunks(text);
    std::vector<caf::message> reqs;
    for (size_t i = 0; i < parts.size(); ++i) {
      Chunk c;
      c.set_id(i);
      c.set_text(std::move(parts[i]));
      reqs.push_back(caf::make_message(std::move(c)));
    }
    std::vector<decltype(self->request(ms[0], 60s, reqs[0]))> pending;
    for (size_t i = 0; i < reqs.size(); ++i)
      pending.push_back(self->request(ms[i % ms.size()], 60s, reqs[i]));
    for (auto& p : pending)
      p.receive([](Done&) {},
                [](caf::error& e) {
                  throw std::runtime_error(troupe::describe(e));
                });
    for (auto& r : rs) { // disjoint by construction: a clash is a bug
      auto counts = ask<Counts>(self, r, caf::make_message(Collect{}));
      for (auto& [w, k] : counts.words())
        if (!result.emplace(w, k).second)
          throw std::runtime_error("'" + w + "' was counted by two reducers");
    }
  } catch (...) {
    for (auto& a : all)
      self->send_exit(a, caf::exit_reason::user_shutdown);
    throw;
  }
  for (auto& a : all) // the job is done: its actors go
    self->send_exit(a, caf::exit_reason::user_shutdown);
  return result;
}

} // namespace wordcount
