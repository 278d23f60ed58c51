// SPDX-License-Identifier: Apache-2.0
// Reading numbers out of the examples' output lines.
#pragma once

#include <regex>
#include <string>
#include <vector>

namespace troupe::test {

/// The capture groups of the first line that matches `pattern`, as numbers
/// where they are numbers; empty if no line matches.
inline std::vector<std::string>
match_line(const std::vector<std::string>& lines, const std::string& pattern) {
  std::regex re{pattern};
  std::smatch m;
  for (auto& line : lines)
    if (std::regex_search(line, m, re)) {
      std::vector<std::string> out;
      for (size_t i = 1; i < m.size(); ++i)
        out.push_back(m[i].str());
      return out;
    }
  return {};
}

/// Whether a line matches `pattern`.
inline bool has_line(const std::vector<std::string>& lines,
                     const std::string& pattern) {
  std::regex re{pattern};
  for (auto& line : lines)
    if (std::regex_search(line, re))
      return true;
  return false;
}

} // namespace troupe::test
