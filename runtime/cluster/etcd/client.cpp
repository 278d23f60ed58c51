// SPDX-License-Identifier: Apache-2.0
// The etcd v3 calls over the JSON gateway: requests, endpoint failover, and
// the checks on every answer.
#include "cluster/etcd/client.hpp"

#include <charconv>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cluster/etcd/base64.hpp"
#include "troupe/endpoint.hpp"
#include "troupe/error.hpp"

namespace troupe::cluster::etcd {

namespace {

using json = nlohmann::json;

// An answer that is JSON but not the shape etcd sends.
struct malformed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// An int64 field, which the gateway sends as a string; absent is 0.
int64_t int_field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null())
    return 0;
  if (it->is_number_integer())
    return it->get<int64_t>();
  if (!it->is_string())
    throw malformed(fmt::format("'{}' is not an integer", key));
  auto& text = it->get_ref<const std::string&>();
  int64_t out = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc{} || end != text.data() + text.size())
    throw malformed(fmt::format("'{}' is not an integer: '{}'", key, text));
  return out;
}

// A bytes field (base64); absent is empty.
std::string bytes_field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null())
    return {};
  if (!it->is_string())
    throw malformed(fmt::format("'{}' is not a string", key));
  auto out = base64_decode(it->get_ref<const std::string&>());
  if (!out)
    throw malformed(fmt::format("'{}' is not base64", key));
  return std::move(*out);
}

const json& object_field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_object())
    throw malformed(fmt::format("no object '{}'", key));
  return *it;
}

// An array field; absent is an empty array.
const json& array_field(const json& j, const char* key) {
  static const json empty = json::array();
  auto it = j.find(key);
  if (it == j.end() || it->is_null())
    return empty;
  if (!it->is_array())
    throw malformed(fmt::format("'{}' is not an array", key));
  return *it;
}

int64_t revision_of(const json& j) {
  return int_field(object_field(j, "header"), "revision");
}

key_value parse_kv(const json& j) {
  if (!j.is_object())
    throw malformed("a key-value is not an object");
  key_value out;
  out.key = bytes_field(j, "key");
  out.value = bytes_field(j, "value");
  out.mod_revision = int_field(j, "mod_revision");
  out.lease = int_field(j, "lease");
  return out;
}

// The text of an `error` field: a string (unary calls) or an object with a
// message (streams).
std::string error_text(const json& err, const json& whole) {
  std::string text;
  if (err.is_string())
    text = err.get<std::string>();
  else if (err.is_object() && err.contains("message") &&
           err["message"].is_string())
    text = err["message"].get<std::string>();
  else
    text = err.dump();
  if (auto code = whole.find("code");
      code != whole.end() && code->is_number_integer())
    text += fmt::format(" (code {})", code->get<int>());
  return text;
}

// An answer as a value, or an error.
template <class T, class Parse>
result<T> decode(const endpoint& ep, const http_reply& reply, Parse& parse) {
  auto where = to_string(ep);
  try {
    auto j = json::parse(reply.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      if (reply.status != 200)
        return error{errc::bad_response,
                     fmt::format("{}: HTTP {} (is this etcd's gateway?)", where,
                                 reply.status)};
      return error{errc::bad_response,
                   fmt::format("{}: the answer is not a JSON object", where)};
    }
    if (auto it = j.find("error"); it != j.end())
      return error{errc::rejected,
                   fmt::format("{}: etcd: {}", where, error_text(*it, j))};
    if (reply.status != 200)
      return error{errc::bad_response,
                   fmt::format("{}: HTTP {}", where, reply.status)};
    return parse(j);
  } catch (const std::exception& e) {
    return error{errc::bad_response,
                 fmt::format("{}: malformed answer: {}", where, e.what())};
  }
}

// One error out of those of every endpoint tried.
error combine(std::vector<error> failures) {
  if (failures.empty())
    return {errc::timeout, "no endpoint tried in time"};
  if (failures.size() == 1)
    return std::move(failures.front());
  error out{failures.back().code, "every endpoint failed: "};
  for (size_t i = 0; i < failures.size(); ++i)
    out.message += (i == 0 ? "" : "; ") + failures[i].message;
  return out;
}

// Whether the next endpoint may do better than this failure.
bool try_next(const error& x) {
  return x.code == errc::unreachable || x.code == errc::timeout ||
         x.code == errc::bad_response;
}

std::string id_text(int64_t x) {
  return std::to_string(x);
}

} // namespace

const char* to_string(errc x) noexcept {
  switch (x) {
  case errc::unreachable:
    return "unreachable";
  case errc::timeout:
    return "timeout";
  case errc::rejected:
    return "rejected";
  case errc::bad_response:
    return "bad_response";
  case errc::cancelled:
    return "cancelled";
  case errc::invalid:
    return "invalid";
  }
  return "unknown";
}

std::string describe(const error& x) {
  return fmt::format("{}: {}", to_string(x.code), x.message);
}

std::string prefix_end(std::string_view prefix) {
  std::string out{prefix};
  while (!out.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(out.back());
    if (last < 0xff) {
      ++last;
      return out;
    }
    out.pop_back();
  }
  // No key is greater than every key with the prefix: etcd's "\0" means
  // every key from `key` on.
  return std::string(1, '\0');
}

result<std::vector<endpoint>>
parse_endpoints(const std::vector<std::string>& xs) {
  if (xs.empty())
    return error{errc::invalid, "no etcd endpoints"};
  std::vector<endpoint> out;
  for (auto& x : xs) {
    auto ep = troupe::parse_endpoint(x);
    if (!ep)
      return error{errc::invalid, fmt::format("bad etcd endpoint: {}",
                                              troupe::describe(ep.error()))};
    out.push_back(endpoint{ep->first, ep->second});
  }
  return out;
}

client::client(client_settings settings)
    : settings_(std::move(settings)) {}

template <class T, class Parse>
result<T> client::call(const std::string& target, const std::string& body,
                       const cancel_fn& cancel, Parse parse) {
  auto& eps = settings_.endpoints;
  if (eps.empty())
    return error{errc::invalid, "no etcd endpoints"};
  auto deadline = clock::now() + settings_.timeout;
  auto first = preferred_.load(std::memory_order_relaxed) % eps.size();
  std::vector<error> failures;
  for (size_t i = 0; i < eps.size(); ++i) {
    auto now = clock::now();
    if (now >= deadline)
      break;
    auto idx = (first + i) % eps.size();
    // What is left of the time, shared among the endpoints left.
    auto share = (deadline - now) / static_cast<int>(eps.size() - i);
    auto reply = http_post(eps[idx], target, body, now + share, cancel,
                           settings_.max_answer);
    if (!reply) {
      if (!try_next(reply.err()))
        return reply.err();
      failures.push_back(reply.err());
      continue;
    }
    auto out = decode<T>(eps[idx], *reply, parse);
    if (!out && try_next(out.err())) {
      failures.push_back(out.err());
      continue;
    }
    preferred_.store(idx, std::memory_order_relaxed);
    return out;
  }
  return combine(std::move(failures));
}

result<lease_grant> client::grant(std::chrono::seconds ttl,
                                  const cancel_fn& cancel) {
  json req = {{"TTL", id_text(ttl.count())}, {"ID", "0"}};
  return call<lease_grant>("/v3/lease/grant", req.dump(), cancel,
                           [](const json& j) -> result<lease_grant> {
                             lease_grant out;
                             out.id = int_field(j, "ID");
                             out.ttl =
                                 std::chrono::seconds{int_field(j, "TTL")};
                             if (out.id == 0 || out.ttl.count() <= 0)
                               throw malformed("a grant without ID or TTL");
                             return out;
                           });
}

result<std::chrono::seconds> client::keep_alive(int64_t lease,
                                                const cancel_fn& cancel) {
  json req = {{"ID", id_text(lease)}};
  return call<std::chrono::seconds>(
      "/v3/lease/keepalive", req.dump(), cancel,
      [](const json& j) -> result<std::chrono::seconds> {
        // A stream of one message: {"result": {...}}. A lease etcd no longer
        // has comes back without a TTL.
        auto ttl = int_field(object_field(j, "result"), "TTL");
        return std::chrono::seconds{ttl > 0 ? ttl : 0};
      });
}

result<done> client::revoke(int64_t lease, const cancel_fn& cancel) {
  json req = {{"ID", id_text(lease)}};
  auto out = call<done>("/v3/lease/revoke", req.dump(), cancel,
                        [](const json& j) -> result<done> {
                          revision_of(j);
                          return done{};
                        });
  if (!out && out.err().code == errc::rejected &&
      out.err().message.find("lease not found") != std::string::npos)
    return done{};
  return out;
}

result<int64_t> client::put(std::string_view key, std::string_view value,
                            int64_t lease, const cancel_fn& cancel) {
  json req = {{"key", base64_encode(key)}, {"value", base64_encode(value)}};
  if (lease != 0)
    req["lease"] = id_text(lease);
  return call<int64_t>("/v3/kv/put", req.dump(), cancel,
                       [](const json& j) -> result<int64_t> {
                         return revision_of(j);
                       });
}

result<range_result> client::range_prefix(std::string_view prefix,
                                          const cancel_fn& cancel) {
  json req = {{"key", base64_encode(prefix)},
              {"range_end", base64_encode(prefix_end(prefix))}};
  return call<range_result>("/v3/kv/range", req.dump(), cancel,
                            [](const json& j) -> result<range_result> {
                              range_result out;
                              out.revision = revision_of(j);
                              for (auto& kv : array_field(j, "kvs"))
                                out.kvs.push_back(parse_kv(kv));
                              return out;
                            });
}

result<int64_t> client::delete_range(std::string_view key, bool prefix,
                                     const cancel_fn& cancel) {
  json req = {{"key", base64_encode(key)}};
  if (prefix)
    req["range_end"] = base64_encode(prefix_end(key));
  return call<int64_t>("/v3/kv/deleterange", req.dump(), cancel,
                       [](const json& j) -> result<int64_t> {
                         revision_of(j);
                         return int_field(j, "deleted");
                       });
}

result<done> client::compact(int64_t revision, const cancel_fn& cancel) {
  json req = {{"revision", id_text(revision)}, {"physical", true}};
  return call<done>("/v3/kv/compaction", req.dump(), cancel,
                    [](const json& j) -> result<done> {
                      revision_of(j);
                      return done{};
                    });
}

result<done>
client::watch_prefix(std::string_view prefix, int64_t start_revision,
                     const std::function<bool(const watch_batch&)>& on_batch,
                     const cancel_fn& cancel) {
  auto& eps = settings_.endpoints;
  if (eps.empty())
    return error{errc::invalid, "no etcd endpoints"};
  json create = {{"key", base64_encode(prefix)},
                 {"range_end", base64_encode(prefix_end(prefix))}};
  if (start_revision > 0)
    create["start_revision"] = id_text(start_revision);
  auto body = json{{"create_request", create}}.dump();
  auto deadline = clock::now() + settings_.timeout;
  auto first = preferred_.load(std::memory_order_relaxed) % eps.size();
  std::vector<error> failures;
  for (size_t i = 0; i < eps.size(); ++i) {
    auto now = clock::now();
    if (now >= deadline)
      break;
    auto idx = (first + i) % eps.size();
    auto share = (deadline - now) / static_cast<int>(eps.size() - i);
    auto where = to_string(eps[idx]);
    bool opened = false;
    std::optional<error> failed; // what ended the stream from our side
    auto on_line = [&](std::string_view line) {
      opened = true;
      try {
        auto j = json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object())
          throw malformed("a watch message is not a JSON object");
        if (auto it = j.find("error"); it != j.end()) {
          failed = error{errc::rejected, fmt::format("{}: etcd: {}", where,
                                                     error_text(*it, j))};
          return false;
        }
        auto& res = object_field(j, "result");
        if (auto it = res.find("canceled"); it != res.end() && *it == true) {
          failed = error{errc::rejected,
                         fmt::format("{}: etcd cancelled the watch (compacted "
                                     "at revision {}: {})",
                                     where, int_field(res, "compact_revision"),
                                     res.value("cancel_reason", ""))};
          return false;
        }
        watch_batch batch;
        batch.created = res.value("created", false);
        batch.revision = revision_of(res);
        for (auto& ev : array_field(res, "events")) {
          if (!ev.is_object())
            throw malformed("a watch event is not an object");
          watch_event x;
          auto type = ev.value("type", std::string{"PUT"});
          if (type == "DELETE")
            x.type = watch_event::del;
          else if (type != "PUT")
            throw malformed(fmt::format("unknown event type '{}'", type));
          x.kv = parse_kv(object_field(ev, "kv"));
          batch.events.push_back(std::move(x));
        }
        return on_batch(batch);
      } catch (const std::exception& e) {
        failed = error{
            errc::bad_response,
            fmt::format("{}: malformed watch message: {}", where, e.what())};
        return false;
      }
    };
    auto res = http_stream(eps[idx], "/v3/watch", body, now + share, on_line,
                           cancel, settings_.max_answer);
    if (failed)
      return *failed;
    if (res) {
      preferred_.store(idx, std::memory_order_relaxed);
      return done{};
    }
    if (opened || !try_next(res.err()))
      return res.err();
    failures.push_back(res.err());
  }
  return combine(std::move(failures));
}

} // namespace troupe::cluster::etcd
