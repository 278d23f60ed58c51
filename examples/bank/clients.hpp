// SPDX-License-Identifier: Apache-2.0
// The bank's clients: requests to accounts that survive the loss of an
// account's node (retried, safely, by operation id), and client threads that
// make random transfers at the same time (a withdrawal, then a deposit).
#pragma once

#include <atomic>
#include <functional>
#include <utility>
#include <chrono>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include <troupe/actor/requester.hpp>
#include <troupe/error.hpp>
#include <troupe/node/node.hpp>

#include "account.hpp"

namespace bank {

/// The accounts, by their cluster-wide names "bank.account-<i>". After a
/// failed request an account is looked up again by name: its supervisor may
/// have moved it to another node. Thread-safe.
class account_book {
public:
  account_book(troupe::node& n, std::vector<caf::actor> accs) : n_(n) {
    for (size_t i = 0; i < accs.size(); ++i)
      entries_.push_back({"bank.account-" + std::to_string(i), accs[i]});
  }

  size_t size() const {
    return entries_.size();
  }

  caf::actor get(size_t i) {
    std::lock_guard<std::mutex> guard{mtx_};
    return entries_[i].handle;
  }

  void set(size_t i, caf::actor hdl) {
    std::lock_guard<std::mutex> guard{mtx_};
    entries_[i].handle = std::move(hdl);
  }

  /// Looks account `i` up again by its name.
  caf::actor refresh(size_t i) {
    auto hdl = n_.whereis_global(entries_[i].name);
    if (hdl)
      set(i, hdl);
    return hdl;
  }

  /// Whether the node was asked to stop (a signal): no more retries.
  bool stopping() const {
    return n_.stop_requested();
  }

  /// Requests that failed and were sent again.
  std::atomic<size_t> retries{0};

private:
  struct entry {
    std::string name;
    caf::actor handle;
  };
  troupe::node& n_;
  std::mutex mtx_;
  std::vector<entry> entries_;
};

/// One request to account `i`. A failure (its node died, it is being moved)
/// is retried with the same message for up to 30 s: deposits and
/// withdrawals carry an operation id, so a retry of one that was applied
/// is answered without applying it twice. Then an error throws: a
/// conservation claim with a failed transfer in it would mean nothing.
/// `self` is the calling thread's requester (a scoped actor would keep
/// every request's timeout in its mailbox once due: see requester.hpp).
template <class Msg>
Amount ask(troupe::requester& self, account_book& book, size_t i,
           const Msg& msg) {
  using namespace std::chrono_literals;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  std::string last = "no holder of its name";
  for (int attempt = 0;; ++attempt) {
    if (attempt > 0) {
      if (book.stopping())
        throw std::runtime_error("stopped by a signal");
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("account-" + std::to_string(i) + ": " + last);
      ++book.retries;
      std::this_thread::sleep_for(20ms); // a bounded retry loop, not a sync
      book.refresh(i);
    }
    auto acc = book.get(i);
    if (!acc)
      continue;
    auto out = self.ask<Amount>(acc, 10s, msg);
    if (out)
      return std::move(*out);
    last = troupe::describe(out.error());
    if (last.find("injected crash") != std::string::npos)
      throw std::runtime_error(last); // the crash drill's own request
  }
}

/// A deposit or withdrawal of `x` as operation `seq` of `client`.
template <class Msg>
Msg operation(int64_t x, const std::string& client, uint64_t seq) {
  Msg out;
  out.set_amount(x);
  out.set_client(client);
  out.set_seq(seq);
  return out;
}

/// The sum of every account's balance.
inline int64_t total(troupe::requester& self, account_book& book) {
  int64_t sum = 0;
  for (size_t i = 0; i < book.size(); ++i)
    sum += ask(self, book, i, Balance{}).value();
  return sum;
}

/// Makes `transfers` random transfers of 1..100 on `clients` threads at
/// once, each thread a client named `<prefix>-<c>`; returns how many were
/// skipped (same account, or the withdrawal was refused for lack of money).
/// `at.second` runs once, in the client thread that starts transfer number
/// `at.first` (a drill's fault in the middle of the traffic). Throws on the
/// first failed request.
inline size_t transfer(troupe::node& n, account_book& book, size_t clients,
                       size_t transfers, const std::string& prefix,
                       std::pair<size_t, std::function<void()>> at = {}) {
  std::atomic<size_t> started{0};
  std::atomic<size_t> skipped{0};
  std::vector<std::string> errors(clients);
  std::vector<std::thread> threads;
  for (size_t c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      troupe::requester self{n.system()};
      std::mt19937_64 rng{1000 + c};
      std::uniform_int_distribution<size_t> pick{0, book.size() - 1};
      std::uniform_int_distribution<int64_t> amount{1, 100};
      auto client = prefix + "-" + std::to_string(c);
      uint64_t seq = 0;
      try {
        for (size_t i = c; i < transfers && !n.stop_requested(); i += clients) {
          auto from = pick(rng), to = pick(rng);
          auto x = amount(rng);
          if (++started == at.first && at.second)
            at.second();
          if (from == to ||
              !ask(self, book, from,
                   operation<Withdraw>(x, client, ++seq)).ok()) {
            ++skipped;
            continue;
          }
          ask(self, book, to, operation<Deposit>(x, client, ++seq));
        }
      } catch (std::exception& e) {
        errors[c] = e.what();
      }
    });
  for (auto& t : threads)
    t.join();
  for (auto& e : errors)
    if (!e.empty())
      throw std::runtime_error("a transfer failed: " + e);
  if (n.stop_requested())
    throw std::runtime_error("stopped by a signal");
  return skipped;
}

} // namespace bank
