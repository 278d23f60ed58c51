// SPDX-License-Identifier: Apache-2.0
#include "format.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

#include <fmt/format.h>

namespace troupe::tool::detail {

namespace {

// Protobuf's name of an enum value, lowercase; its number if unknown.
std::string lowercase_or_number(const std::string& name, int value) {
  if (name.empty())
    return std::to_string(value);
  std::string out;
  for (auto ch : name)
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

// Code points in `text` (UTF-8): what a terminal shows for our glyphs.
size_t display_width(std::string_view text) {
  return static_cast<size_t>(
      std::count_if(text.begin(), text.end(), [](char ch) {
        return (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
      }));
}

} // namespace

std::string name_of(wire::MemberStatus x) {
  return lowercase_or_number(wire::MemberStatus_Name(x), x);
}

std::string name_of(wire::ActorInfo::Kind x) {
  return lowercase_or_number(wire::ActorInfo::Kind_Name(x), x);
}

std::string name_of(wire::ActorInfo::Status x) {
  return lowercase_or_number(wire::ActorInfo::Status_Name(x), x);
}

std::string format_duration(int64_t ms) {
  if (ms < 0)
    return "-";
  if (ms < 1000)
    return fmt::format("{}ms", ms);
  auto s = ms / 1000;
  if (s < 60)
    return fmt::format("{}s", s);
  if (s < 3600)
    return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400)
    return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
  return fmt::format("{}d{:02}h", s / 86400, s % 86400 / 3600);
}

std::string format_utc(int64_t unix_ms) {
  auto secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string format_rate(double x) {
  return fmt::format("{:.1f}", x);
}

std::string last_segment(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos || slash + 1 == path.size())
    return path;
  return path.substr(slash + 1);
}

std::string one_line(std::string text) {
  for (auto& ch : text)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F)
      ch = ' ';
  return text;
}

std::string last_failure_note(const wire::ActorInfo& a) {
  if (a.last_failure().empty() && a.last_failure_unix_ms() == 0)
    return {};
  std::string out = "last failure";
  if (a.last_failure_unix_ms() != 0)
    out += " " + format_utc(a.last_failure_unix_ms());
  if (!a.last_failure().empty())
    out += ": " + one_line(a.last_failure());
  return out;
}

std::string global_name_note(const wire::ActorInfo& a) {
  std::string out;
  if (!a.global_name().empty())
    out = fmt::format("name '{}'", one_line(a.global_name()));
  if (a.has_persistence()) {
    auto& p = a.persistence();
    if (!out.empty())
      out += "; ";
    out += fmt::format("persistence id '{}' seq {}", one_line(p.id()),
                       p.last_seq());
    if (p.recovery_ns() >= 0)
      out += fmt::format(", recovered in {:.1f} ms",
                         static_cast<double>(p.recovery_ns()) / 1e6);
    else
      out += ", recovering";
  }
  return out;
}

std::vector<int> nodes_by_name(const wire::ClusterSnapshot& snap) {
  std::vector<int> out(static_cast<size_t>(snap.nodes_size()));
  for (int i = 0; i < snap.nodes_size(); ++i)
    out[static_cast<size_t>(i)] = i;
  std::stable_sort(out.begin(), out.end(), [&](int a, int b) {
    return snap.nodes(a).member().name() < snap.nodes(b).member().name();
  });
  return out;
}

std::string_view color_of(wire::MemberStatus x) {
  switch (x) {
  case wire::UP:
    return ansi::green;
  case wire::JOINING:
  case wire::SUSPECT:
    return ansi::yellow;
  default:
    return ansi::red;
  }
}

std::string_view color_of(wire::ActorInfo::Status x) {
  switch (x) {
  case wire::ActorInfo::RUNNING:
    return ansi::green;
  case wire::ActorInfo::RESTARTING:
    return ansi::yellow;
  case wire::ActorInfo::STOPPED:
    return ansi::dim;
  default:
    return ansi::red;
  }
}

std::string paint(bool on, std::string_view code, std::string_view text) {
  if (!on || code.empty() || text.empty())
    return std::string{text};
  return fmt::format("\033[{}m{}\033[0m", code, text);
}

std::string table::render(bool color) const {
  std::vector<size_t> widths;
  for (auto& x : items_)
    for (size_t i = 0; i < x.cells.size(); ++i) {
      if (widths.size() <= i)
        widths.resize(i + 1, 0);
      widths[i] = std::max(widths[i], display_width(x.cells[i].text));
    }
  std::string out;
  for (auto& x : items_) {
    std::string line;
    if (x.cells.empty())
      line = x.text;
    for (size_t i = 0; i < x.cells.size(); ++i) {
      auto& c = x.cells[i];
      std::string pad(widths[i] - display_width(c.text), ' ');
      if (i > 0)
        line += "  ";
      if (c.right)
        line += pad;
      line += color && !c.painted.empty() ? c.painted
                                          : paint(color, c.color, c.text);
      if (!c.right)
        line += pad;
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out += line;
    out += '\n';
  }
  return out;
}

} // namespace troupe::tool::detail
