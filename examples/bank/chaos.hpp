// SPDX-License-Identifier: Apache-2.0
// The bank's chaos workload (`bank chaos`, driven by tools/chaos): client
// threads make transfers for a given time while nodes are killed, frozen,
// starved or cut off, and every operation goes into a history that the
// checker replays against the final balances. Unlike `run`, a failed
// request never ends the run: it is retried with the same operation id
// (applied once however often it arrives) until it is answered or the
// run's grace time is over, and then recorded as `unknown`.
#pragma once

#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <troupe/actor/requester.hpp>

#include "clients.hpp"
#include "desk.hpp"
#include "history.hpp"

namespace bank::chaos {

using clock = std::chrono::steady_clock;

/// Per run: the node, the accounts, the history, and when to stop.
struct run_context {
  troupe::node& n;
  account_book& book;
  history& hist;
  uint32_t accounts;
  clock::time_point end;  // no new transfer after this
  clock::time_point hard; // no retry after this: the rest is unknown
  std::atomic<int64_t> last_reopen_ms{0};
};

/// Asks the first seed's desk to open the bank again, at most once a
/// second across threads: after its supervisor's node was lost, the
/// accounts exist only once a desk starts them again (they recover their
/// balances from the journal).
inline void reopen(run_context& rc, troupe::requester& self) {
  auto now = history::now_ms();
  auto last = rc.last_reopen_ms.load();
  if (now - last < 1000 || !rc.last_reopen_ms.compare_exchange_strong(last, now))
    return;
  try {
    auto desk = find_desk(rc.n, true);
    Open open;
    open.set_accounts(rc.accounts);
    auto info = self.ask<BankInfo>(desk, std::chrono::seconds{5}, open);
    if (info && info->opened_now())
      rc.hist.write({{"p", "reopened"}});
  } catch (std::exception&) {
    // The seed is not back yet: the next retry tries again.
  }
}

/// One operation on account `i` until it is answered; nothing when given
/// up on at `rc.hard`. Each failed attempt is written as a `retry` line.
template <class Msg>
std::optional<Amount> attempt(run_context& rc, troupe::requester& self,
                              size_t i, const Msg& msg,
                              const std::string& client, uint64_t seq) {
  using namespace std::chrono_literals;
  auto failing_since = clock::now();
  for (int tries = 0; clock::now() < rc.hard; ++tries) {
    if (tries > 0) {
      std::this_thread::sleep_for(50ms); // a bounded retry loop, not a sync
      if (!rc.book.refresh(i) && clock::now() - failing_since > 2s)
        reopen(rc, self);
    }
    auto acc = rc.book.get(i);
    if (!acc)
      continue;
    auto out = self.ask<Amount>(acc, 3s, msg);
    if (out)
      return std::move(*out);
    auto err = troupe::describe(out.error());
    rc.hist.write({{"p", "retry"}, {"c", client}, {"s", seq}, {"e", err},
                   {"to", std::to_string(acc.id()) + "@" + to_string(acc.node())}});
  }
  return std::nullopt;
}

/// Invokes operation `seq` of `client` on account `i` and writes how it
/// ended; returns whether it was applied (nothing: unknown).
template <class Msg>
std::optional<bool> operate(run_context& rc, troupe::requester& self,
                            const char* kind, size_t i, int64_t x,
                            const std::string& client, uint64_t seq) {
  rc.hist.write({{"p", "invoke"}, {"c", client}, {"s", seq}, {"k", kind},
                 {"a", i}, {"x", x}});
  auto res = attempt(rc, self, i, operation<Msg>(x, client, seq), client, seq);
  if (!res) {
    rc.hist.write({{"p", "unknown"}, {"c", client}, {"s", seq}});
    return std::nullopt;
  }
  rc.hist.write({{"p", res->ok() ? "ok" : "fail"}, {"c", client}, {"s", seq},
                 {"v", res->value()}});
  return res->ok();
}

/// One client thread: random transfers until `rc.end`; a transfer whose
/// withdrawal was applied has its deposit retried until `rc.hard`.
inline void client(run_context& rc, const std::string& name, uint64_t seed) {
  troupe::requester self{rc.n.system()};
  std::mt19937_64 rng{seed};
  std::uniform_int_distribution<size_t> pick{0, rc.book.size() - 1};
  std::uniform_int_distribution<int64_t> amount{1, 100};
  uint64_t seq = 0;
  while (clock::now() < rc.end && !rc.n.stop_requested()) {
    auto from = pick(rng), to = pick(rng);
    auto x = amount(rng);
    if (from == to)
      continue;
    auto took = operate<Withdraw>(rc, self, "withdraw", from, x, name, ++seq);
    if (took && *took)
      operate<Deposit>(rc, self, "deposit", to, x, name, ++seq);
    else if (!took)
      break; // an unknown withdrawal: later operations would hide it
  }
}

/// Every account's balance as a `final` line (`error` if unreadable);
/// returns whether all were read.
inline bool finals(run_context& rc, troupe::requester& self, const char* p) {
  bool all = true;
  for (size_t i = 0; i < rc.book.size(); ++i) {
    auto res = attempt(rc, self, i, Balance{}, "", 0);
    if (res)
      rc.hist.write({{"p", p}, {"a", i}, {"v", res->value()}});
    else
      rc.hist.write({{"p", p}, {"a", i}, {"error", "no answer"}}), all = false;
  }
  return all;
}

/// The run: balances at the start, `clients` threads for `seconds`, then
/// (up to `grace` seconds later) the balances at the end. Returns 0 when
/// every balance was read at the end.
inline int run(troupe::node& n, account_book& book, history& hist,
               uint32_t accounts, size_t clients, size_t seconds,
               size_t grace) {
  auto t0 = clock::now();
  run_context rc{n,        book,
                 hist,     accounts,
                 t0 + std::chrono::seconds{seconds},
                 t0 + std::chrono::seconds{seconds + grace}};
  troupe::requester self{n.system()};
  hist.write({{"p", "begin"}, {"accounts", accounts}, {"clients", clients}});
  finals(rc, self, "start");
  auto prefix = n.name() + "-" + std::to_string(history::now_ms());
  std::vector<std::thread> threads;
  for (size_t c = 0; c < clients; ++c)
    threads.emplace_back(
      [&rc, c, prefix] { client(rc, prefix + "-" + std::to_string(c), c); });
  for (auto& t : threads)
    t.join();
  hist.write({{"p", "quiet"}});
  auto ok = finals(rc, self, "final");
  hist.write({{"p", "end"}});
  return ok ? 0 : 1;
}

} // namespace bank::chaos
