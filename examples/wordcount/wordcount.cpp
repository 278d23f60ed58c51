// SPDX-License-Identifier: Apache-2.0
// Map, shuffle by word hash, reduce across nodes: mappers count the words of
// their chunks and send each word to the reducer its hash picks; the result
// is checked against a single-threaded count of the same text.
//
//   wordcount [node flags] local|serve|run [FILE...] [--generate BYTES]
//             [--mappers N] [--reducers N]
//
// The corpus: the FILEs, or a generated text of BYTES bytes, or by default
// /usr/share/common-licenses/*. `serve` hosts mappers and reducers, prints
// "READY port=<p>" and runs until SIGTERM; `run` joins them (--seeds);
// `local` does it all in one process. Exit code 0 when the counts match.
#include <algorithm>
#include <iostream>
#include <map>

#include <caf/scoped_actor.hpp>
#include <troupe/error.hpp>

#include "await_host.hpp"
#include "common/args.hpp"
#include "corpus.hpp"
#include "distributed.hpp"

namespace {

using namespace std::chrono_literals;
using word_map = std::map<std::string, uint64_t>;

void summary(const char* what, const word_map& m, double secs) {
  uint64_t total = 0;
  std::vector<std::pair<uint64_t, std::string>> top;
  for (auto& [w, k] : m)
    total += k, top.emplace_back(k, w);
  std::sort(top.rbegin(), top.rend());
  std::cout << what << ": " << total << " words, " << m.size()
            << " distinct, in " << secs << " s; top:";
  for (size_t i = 0; i < std::min<size_t>(5, top.size()); ++i)
    std::cout << ' ' << top[i].second << '=' << top[i].first;
  std::cout << std::endl;
}

} // namespace

namespace {

int job(troupe::node& n, std::vector<std::string> files,
        std::map<std::string, size_t>& opts) {
  auto text = wordcount::read_corpus(std::move(files), opts["--generate"]);
  auto t0 = std::chrono::steady_clock::now();
  auto dist = wordcount::count_distributed(n, text, opts["--mappers"],
                                           opts["--reducers"]);
  auto t1 = std::chrono::steady_clock::now();
  std::unordered_map<std::string, uint64_t> counts;
  wordcount::for_each_word(text, [&](const std::string& w) {
    ++counts[w];
  });
  word_map ref{counts.begin(), counts.end()};
  auto t2 = std::chrono::steady_clock::now();
  auto label = "distributed (" + std::to_string(opts["--mappers"]) +
               " mappers, " + std::to_string(opts["--reducers"]) + " reducers)";
  summary(label.c_str(), dist, std::chrono::duration<double>(t1 - t0).count());
  summary("single-threaded", ref,
          std::chrono::duration<double>(t2 - t1).count());
  size_t differ = 0;
  for (auto& [w, k] : ref)
    differ += dist.count(w) == 0 || dist[w] != k ? 1 : 0;
  for (auto& [w, k] : dist)
    differ += ref.count(w) == 0 ? 1 : 0;
  std::cout << (differ == 0
                    ? "match: yes"
                    : "match: NO, " + std::to_string(differ) + " words differ")
            << std::endl;
  return differ == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  std::map<std::string, size_t> opts{
      {"--generate", 0}, {"--mappers", 4}, {"--reducers", 4}};
  auto parsed = examples::parse_args("wordcount", argc, argv, opts);
  if (!parsed)
    return 2;
  auto& pos = parsed->positional;
  auto mode = pos.empty() ? "" : pos[0];
  if (parsed->help || (mode != "local" && mode != "serve" && mode != "run") ||
      (mode == "serve" && pos.size() > 1)) {
    (parsed->help ? std::cout : std::cerr)
        << "usage: wordcount [node flags] local|serve|run [FILE...] "
           "[--generate BYTES] [--mappers N] [--reducers N]\n"
        << parsed->help_text;
    return parsed->help ? 0 : 2;
  }
  troupe::node n{parsed->config};
  wordcount::setup(n, mode != "run");
  if (auto err = n.start()) {
    std::cerr << "wordcount: " << troupe::describe(err) << '\n';
    return 1;
  }
  if (mode == "serve") {
    std::cout << "READY port=" << n.port() << " name=" << n.name() << std::endl;
    return n.run();
  }
  int rc = 1;
  try {
    if (mode == "run" && !wordcount::await_host(n))
      throw std::runtime_error("no node that hosts mappers came up within 20 s "
                               "(start `wordcount serve` nodes, give --seeds)");
    rc = job(n, {pos.begin() + 1, pos.end()}, opts);
  } catch (std::exception& e) {
    std::cerr << "wordcount: " << e.what() << '\n';
  }
  return n.shutdown() ? rc : 1;
}
