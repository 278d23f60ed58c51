// SPDX-License-Identifier: Apache-2.0
#pragma once

// Text helpers shared by the renderers (private to the tool).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/wire/introspect.pb.h"

namespace troupe::tool::detail {

/// Lowercase names of the wire enums ("up", "supervisor", "running"); a
/// value this build does not know shows as its number.
std::string name_of(wire::MemberStatus x);
std::string name_of(wire::ActorInfo::Kind x);
std::string name_of(wire::ActorInfo::Status x);

/// `850ms`, `42s`, `10m00s`, `1h02m`, `3d04h`; `-` when negative.
std::string format_duration(int64_t ms);

/// `2024-05-01T12:00:00Z` (UTC, second precision).
std::string format_utc(int64_t unix_ms);

/// Messages per second with one decimal.
std::string format_rate(double x);

/// The last segment of a supervision path (the path itself for `/`).
std::string last_segment(const std::string& path);

/// `text` on one line: control characters become spaces.
std::string one_line(std::string text);

/// `last failure 2024-05-01T12:00:00Z: handler_failed: ...`, or "" for an
/// actor that never failed: every view shows a failure this way. The text
/// is the supervisor's, verbatim (`"<cause>: <text>"` whatever the cause),
/// on one line.
std::string last_failure_note(const wire::ActorInfo& a);

/// `name 'bank.account-1'`: the actor's cluster-wide name, or "" for none.
std::string global_name_note(const wire::ActorInfo& a);

/// Indices of `snap.nodes()` ordered by member name (stable).
std::vector<int> nodes_by_name(const wire::ClusterSnapshot& snap);

// -- ANSI colours -------------------------------------------------------------

namespace ansi {
constexpr std::string_view bold = "1";
constexpr std::string_view dim = "2";
constexpr std::string_view red = "31";
constexpr std::string_view green = "32";
constexpr std::string_view yellow = "33";
constexpr std::string_view cyan = "36";
constexpr std::string_view bold_red = "1;31";
} // namespace ansi

/// Colour of a member status, an actor status.
std::string_view color_of(wire::MemberStatus x);
std::string_view color_of(wire::ActorInfo::Status x);

/// `text` wrapped in the SGR sequence `code` when `on` (and `code` is set).
std::string paint(bool on, std::string_view code, std::string_view text);

// -- tables -------------------------------------------------------------------

/// One cell of a table row.
struct cell {
  std::string text;
  std::string_view color = {};
  bool right = false; // right-aligned (numbers)
  /// Shown instead of `text` when colours are on, for cells coloured in
  /// parts; `text` still gives the width.
  std::string painted = {};
};

/// Rows in aligned columns, with free lines (headings) between them that do
/// not count for the widths. Widths count code points, so box-drawing
/// glyphs line up; colour codes are added after padding.
class table {
public:
  void row(std::vector<cell> cells) {
    items_.push_back({std::move(cells), {}});
  }

  void line(std::string text) {
    items_.push_back({{}, std::move(text)});
  }

  /// Columns are two spaces apart; trailing blanks are trimmed.
  std::string render(bool color) const;

private:
  struct item {
    std::vector<cell> cells; // empty: a free line
    std::string text;
  };
  std::vector<item> items_;
};

} // namespace troupe::tool::detail
