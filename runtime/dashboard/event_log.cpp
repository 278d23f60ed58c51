// SPDX-License-Identifier: Apache-2.0
#include "dashboard/event_log.hpp"

#include <charconv>
#include <chrono>
#include <random>

#include "dashboard/state.hpp"

namespace troupe::dashboard {

namespace {

std::string make_epoch() {
  // Unique enough across restarts of one node: the start time in ms and
  // a random suffix (two logs of one process differ too).
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::system_clock::now().time_since_epoch())
              .count();
  std::random_device rd;
  return std::to_string(ms) + "x" + std::to_string(rd() % 100000);
}

} // namespace

event_log::event_log(size_t capacity)
  : capacity_(capacity), epoch_(make_epoch()) {
}

std::string event_log::id_of(uint64_t seq) const {
  return epoch_ + "." + std::to_string(seq);
}

std::string event_log::frame(uint64_t seq, const char* event,
                             const std::string& data) const {
  // `data` is compact JSON: one line, as an SSE data field must be.
  std::string out;
  out.reserve(data.size() + 64);
  out += "id: ";
  out += id_of(seq);
  out += "\nevent: ";
  out += event;
  out += "\ndata: ";
  out += data;
  out += "\n\n";
  return out;
}

bool event_log::record(nlohmann::json state, int64_t unix_ms) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (seq_ == 0) {
    state_ = std::move(state);
    state_ms_ = unix_ms;
    seq_ = 1;
    return true;
  }
  carry_timeline(state_, state);
  auto delta = diff(state_, state);
  state_ = std::move(state);
  state_ms_ = unix_ms;
  if (delta_empty(delta))
    return false;
  ++seq_;
  delta["seq"] = seq_;
  delta["t"] = unix_ms;
  deltas_.push_back({seq_, frame(seq_, "delta", dump(delta))});
  while (deltas_.size() > capacity_)
    deltas_.pop_front();
  return true;
}

std::optional<event_log::catch_up> event_log::since(uint64_t seq) const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (seq_ == 0)
    return std::nullopt;
  catch_up out;
  out.seq = seq_;
  if (seq == seq_)
    return out;
  // Deltas cover (front.seq - 1, seq_]: enough when the viewer saw at
  // least front.seq - 1.
  bool covered = seq != 0 && seq < seq_ && !deltas_.empty()
                 && seq + 1 >= deltas_.front().seq;
  if (covered) {
    for (auto& d : deltas_)
      if (d.seq > seq)
        out.frames += d.frame;
    return out;
  }
  if (full_frame_seq_ != seq_) {
    auto full = state_;
    full["seq"] = seq_;
    full["t"] = state_ms_;
    full_frame_ = frame(seq_, "full", dump(full));
    full_frame_seq_ = seq_;
  }
  out.frames = full_frame_;
  out.full = true;
  return out;
}

uint64_t event_log::parse_id(std::string_view id) const {
  auto dot = id.rfind('.');
  if (dot == std::string_view::npos || id.substr(0, dot) != epoch_)
    return 0;
  auto digits = id.substr(dot + 1);
  uint64_t seq = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(),
                                   seq);
  if (ec != std::errc{} || end != digits.data() + digits.size())
    return 0;
  std::lock_guard<std::mutex> guard{mtx_};
  return seq <= seq_ ? seq : 0;
}

nlohmann::json event_log::state() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return state_;
}

uint64_t event_log::seq() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return seq_;
}

} // namespace troupe::dashboard
