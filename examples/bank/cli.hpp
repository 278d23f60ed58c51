// The command line of bank: its own counts next to the node flags.
#pragma once

#include <iostream>
#include <map>
#include <string>
#include <vector>

namespace bank {

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
        value.size() > 9 || std::stoul(value) == 0) {
      std::cerr << "bank: " << key << " needs a positive number\n";
      return false;
    }
    out[key] = std::stoul(value);
    --i;
  }
  return true;
}

} // namespace bank
