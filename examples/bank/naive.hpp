// SPDX-License-Identifier: Apache-2.0
// The same random transfers on shared memory: threads read a balance, then
// write it back changed, with nothing in between to stop another thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <iostream>
#include <random>
#include <thread>
#include <vector>

namespace bank {

/// Runs `transfers` transfers on `clients` threads over `accounts` balances
/// of `initial` each, with an unsynchronised read-modify-write, and returns
/// the total afterwards. Loads and stores are relaxed atomics so that the
/// program stays defined C++; the bug is the same as with plain integers: a
/// write made from a stale read wipes out another thread's update. A yield
/// between read and write hands the core to another thread right in that
/// window, so the race shows on every run instead of once in a while.
inline int64_t naive_transfers(size_t accounts, int64_t initial, size_t clients,
                               size_t transfers) {
  std::vector<std::atomic<int64_t>> balance(accounts);
  for (auto& b : balance)
    b.store(initial);
  std::vector<std::thread> threads;
  for (size_t c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      std::mt19937_64 rng{1000 + c};
      std::uniform_int_distribution<size_t> pick{0, accounts - 1};
      std::uniform_int_distribution<int64_t> amount{1, 100};
      for (size_t i = c; i < transfers; i += clients) {
        auto from = pick(rng), to = pick(rng);
        auto x = amount(rng);
        auto b = balance[from].load(std::memory_order_relaxed);
        if (from == to || b < x)
          continue;
        std::this_thread::yield();
        balance[from].store(b - x, std::memory_order_relaxed);
        auto d = balance[to].load(std::memory_order_relaxed);
        std::this_thread::yield();
        balance[to].store(d + x, std::memory_order_relaxed);
      }
    });
  for (auto& t : threads)
    t.join();
  int64_t total = 0;
  for (auto& b : balance)
    total += b.load();
  return total;
}

/// Runs `naive_transfers` and says how far off its total is.
inline void show_naive(size_t accounts, int64_t initial, size_t clients,
                       size_t transfers) {
  auto before = static_cast<int64_t>(accounts) * initial;
  auto drift = naive_transfers(accounts, initial, clients, transfers) - before;
  std::cout << "naive threads: total before " << before << ", after "
            << before + drift
            << (drift == 0 ? ": conserved this time, by luck"
                           : ": NOT conserved, ")
            << (drift < 0   ? "lost "
                : drift > 0 ? "made up "
                            : "")
            << (drift < 0 ? -drift : drift)
            << " (unsynchronised read-modify-write of shared balances: a "
               "write from a stale read wipes out another thread's "
               "withdrawal or deposit; a yield between read and write makes "
               "that happen on every run)"
            << std::endl;
}

} // namespace bank
