// The bank's clients: requests to accounts, and client threads that make
// random transfers at the same time (a withdrawal, then a deposit).
#pragma once

#include <atomic>
#include <chrono>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include <caf/scoped_actor.hpp>
#include <troupe/error.hpp>
#include <troupe/node/node.hpp>

#include "account.hpp"

namespace bank {

/// One request to an account. An error throws: a conservation claim with a
/// failed transfer in it would mean nothing.
template <class Msg>
Amount ask(caf::scoped_actor& self, const caf::actor& acc, Msg msg) {
  Amount out;
  self->request(acc, std::chrono::seconds{10}, std::move(msg))
      .receive(
          [&](Amount& x) {
            out = std::move(x);
          },
          [&](caf::error& e) {
            throw std::runtime_error(troupe::describe(e));
          });
  return out;
}

template <class Msg>
Msg with_amount(int64_t x) {
  Msg out;
  out.set_amount(x);
  return out;
}

/// The sum of every account's balance.
inline int64_t total(caf::scoped_actor& self,
                     const std::vector<caf::actor>& accs) {
  int64_t sum = 0;
  for (auto& a : accs)
    sum += ask(self, a, Balance{}).value();
  return sum;
}

/// Makes `transfers` random transfers of 1..100 on `clients` threads at
/// once; returns how many were skipped (same account, or the withdrawal was
/// refused for lack of money). Throws on the first failed request.
inline size_t transfer(troupe::node& n, const std::vector<caf::actor>& accs,
                       size_t clients, size_t transfers) {
  std::atomic<size_t> skipped{0};
  std::vector<std::string> errors(clients);
  std::vector<std::thread> threads;
  for (size_t c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      caf::scoped_actor self{n.system()};
      std::mt19937_64 rng{1000 + c};
      std::uniform_int_distribution<size_t> pick{0, accs.size() - 1};
      std::uniform_int_distribution<int64_t> amount{1, 100};
      try {
        for (size_t i = c; i < transfers && !n.stop_requested(); i += clients) {
          auto from = pick(rng), to = pick(rng);
          auto x = amount(rng);
          if (from == to ||
              !ask(self, accs[from], with_amount<Withdraw>(x)).ok()) {
            ++skipped;
            continue;
          }
          ask(self, accs[to], with_amount<Deposit>(x));
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
