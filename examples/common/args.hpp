// SPDX-License-Identifier: Apache-2.0
// The command line of an example in serve/run style: its own counts
// (`--key N` or `--key=N`) next to the node flags and the mode words.
#pragma once

#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <troupe/error.hpp>
#include <troupe/node/node_config.hpp>

namespace examples {

/// Takes the keys of `counts` out of `argv` (each must be a positive
/// number), and those of `texts` (each a non-empty word), then reads the
/// rest as node flags and positional words. On bad input, prints why,
/// prefixed with `program`, and returns nothing (the caller exits with 2).
inline std::optional<troupe::parsed_config>
parse_args(const char* program, int argc, char** argv,
           std::map<std::string, size_t>& counts,
           std::map<std::string, std::string>* texts = nullptr) {
  std::vector<std::string> args{argv, argv + argc};
  for (size_t i = 0; i < args.size(); ++i) {
    auto eq = args[i].find('=');
    auto key = args[i].substr(0, eq);
    bool text = texts != nullptr && texts->count(key) != 0;
    if (!counts.count(key) && !text)
      continue;
    std::string value;
    if (eq != key.npos)
      value = args[i].substr(eq + 1);
    else if (i + 1 < args.size())
      value = args[i + 1], args.erase(args.begin() + i + 1);
    args.erase(args.begin() + i);
    if (text) {
      if (value.empty()) {
        std::cerr << program << ": " << key << " needs a value\n";
        return std::nullopt;
      }
      (*texts)[key] = value;
      --i;
      continue;
    }
    if (value.empty() || value.find_first_not_of("0123456789") != value.npos
        || value.size() > 10 || std::stoul(value) == 0) {
      std::cerr << program << ": " << key << " needs a positive number\n";
      return std::nullopt;
    }
    counts[key] = std::stoul(value);
    --i;
  }
  std::vector<const char*> rest;
  for (auto& a : args)
    rest.push_back(a.c_str());
  auto parsed = troupe::parse_node_config(static_cast<int>(rest.size()),
                                          rest.data(), true);
  if (!parsed) {
    std::cerr << program << ": " << troupe::describe(parsed.error()) << '\n';
    return std::nullopt;
  }
  return std::move(*parsed);
}

} // namespace examples
