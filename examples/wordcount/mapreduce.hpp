// SPDX-License-Identifier: Apache-2.0
// The actors of wordcount: a mapper counts the words of a chunk and sends
// each reducer the words whose hash falls to it (the shuffle); a reducer
// adds up what it is sent. Any node that registers the types can host them.
#pragma once

#include <cctype>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <troupe/node/node.hpp>
#include <troupe/wire/proto.hpp>

#include "wordcount/wordcount.pb.h"

namespace wordcount {

/// Calls `f(word)` for each word of `text`: a run of ASCII letters,
/// lowercased. The distributed count and the reference count share it.
template <class F>
void for_each_word(const std::string& text, F f) {
  std::string word;
  for (char ch : text + ' ') {
    if (std::isalpha(static_cast<unsigned char>(ch)) != 0) {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    } else if (!word.empty()) {
      f(word);
      word.clear();
    }
  }
}

/// FNV-1a: the same on every node (std::hash promises that only within one
/// program), so a word always goes to the same reducer.
inline uint64_t word_hash(const std::string& word) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char ch : word)
    h = (h ^ ch) * 1099511628211ull;
  return h;
}

struct mapper_state {
  static inline const char* name = "mapper";
};

inline caf::behavior mapper(troupe::stateful_actor<mapper_state>* self,
                            std::vector<caf::actor> reducers) {
  return {[self, reducers](const Chunk& chunk) {
    std::vector<Counts> parts(reducers.size());
    Done done;
    for_each_word(chunk.text(), [&](const std::string& w) {
      ++(*parts[word_hash(w) % parts.size()].mutable_words())[w];
      done.set_words(done.words() + 1);
    });
    // Answered once every reducer has taken its part.
    auto rp = self->make_response_promise();
    auto pending = std::make_shared<size_t>(parts.size());
    for (size_t i = 0; i < parts.size(); ++i)
      self->request(reducers[i], std::chrono::seconds{30}, std::move(parts[i]))
          .then(
              [rp, pending, done](const Done&) mutable {
                if (--*pending == 0)
                  rp.deliver(done);
              },
              [rp](caf::error& err) mutable {
                rp.deliver(std::move(err));
              });
    return rp;
  }};
}

struct reducer_state {
  static inline const char* name = "reducer";
  Counts total;
};

inline caf::behavior reducer(troupe::stateful_actor<reducer_state>* self) {
  return {
      [self](const Counts& part) {
        Done done;
        auto& words = *self->state.total.mutable_words();
        for (auto& [w, n] : part.words()) {
          words[w] += n;
          done.set_words(done.words() + n);
        }
        return done;
      },
      [self](const Collect&) {
        return self->state.total;
      },
  };
}

/// Registers the messages and, on nodes that host them, the actor types.
/// A mapper is spawned with its reducers (`std::vector<caf::actor>`).
inline void setup(troupe::node& n, bool host) {
  n.add_message_type<Chunk>().add_message_type<Counts>();
  n.add_message_type<Collect>().add_message_type<Done>();
  if (!host)
    return;
  n.add_actor_type("reducer", [](caf::actor_system& sys, const caf::message&) {
    return troupe::spawn(sys, reducer);
  });
  n.add_actor_type("mapper", [](caf::actor_system& sys, const caf::message& m) {
    if (!m.match_elements<std::vector<caf::actor>>())
      return caf::actor{};
    return troupe::spawn(sys, mapper, m.get_as<std::vector<caf::actor>>(0));
  });
}

} // namespace wordcount
