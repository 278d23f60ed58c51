// SPDX-License-Identifier: Apache-2.0
// The drills: an account's handler throws, or the node that hosts accounts
// is killed with SIGKILL in the middle of transfers. Accounts are persistent,
// so their supervisor brings them back with their balances: the total is
// conserved, and printed.
#pragma once

#include <iostream>

#include <caf/after.hpp>
#include <caf/send.hpp>

#include "clients.hpp"

namespace bank {

/// Waits for a name event that satisfies `done`; 20 s is a safety net.
template <class Pred>
bool await_names(caf::scoped_actor& events, Pred done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  bool ok = false;
  while (!ok && std::chrono::steady_clock::now() < deadline)
    events->receive(
        [&](troupe::name_event& e) {
          ok = done(e);
        },
        caf::after(std::chrono::seconds{1}) >> [] {});
  return ok;
}

/// Crashes the account "account-<i>", waits until its supervisor has
/// started it again, and returns whether it came back with the balance it
/// held (the total conserved). `events` is subscribed to the node's name
/// events; `desk` is the bank's.
inline bool crash_drill(troupe::requester& self, caf::scoped_actor& events,
                        const caf::actor& desk, account_book& book, size_t i) {
  auto id = "account-" + std::to_string(i);
  auto name = "bank." + id;
  auto before = total(self, book);
  auto held = ask(self, book, i, Balance{}).value();
  auto old = book.get(i);
  if (auto crashed = self.ask<Amount>(old, std::chrono::seconds{10}, Crash{});
      !crashed)
    std::cout << "crash: " << id << " held " << held
              << ", then failed: " << troupe::describe(crashed.error())
              << std::endl;
  // An account is a remote child: respawned from its spec (a new actor,
  // its name rebound), on any node that hosts accounts.
  if (!await_names(events, [&](const troupe::name_event& e) {
        if (e.name != name || !e.holder || e.holder == old)
          return false;
        book.set(i, e.holder);
        return true;
      }))
    throw std::runtime_error(id + " was not restarted within 20 s");
  Info info;
  info.set_account(id);
  uint64_t restarts = 0;
  if (auto x = self.ask<BankInfo>(desk, std::chrono::seconds{5}, std::move(info)))
    restarts = x->restarts();
  auto now = ask(self, book, i, Balance{}).value();
  auto after = total(self, book);
  bool kept = now == held && after == before;
  std::cout << "crash: its supervisor restarted it (restarts=" << restarts
            << "), balance now " << now << (now == held ? " (kept)" : " (LOST)")
            << "; total " << before << " -> " << after
            << (after == before ? ": conserved" : ": NOT CONSERVED")
            << " (the account recovered its stored events)" << std::endl;
  return kept;
}

/// Runs `transfers` more transfers and, once a third are done, kills the
/// node that hosts account `i` (its handler raises SIGKILL). The accounts of
/// that node are moved to live nodes by their supervisor and recover from
/// the shared journal; clients retry what failed, by operation id. Returns
/// whether the total was conserved.
inline bool kill_drill(troupe::node& n, troupe::requester& self,
                       account_book& book, size_t i, size_t clients,
                       size_t transfers, const std::string& prefix) {
  auto before = total(self, book);
  std::vector<caf::actor> handles;
  for (size_t k = 0; k < book.size(); ++k)
    handles.push_back(book.get(k));
  auto victim = handles[i].node();
  size_t retries_before = book.retries.load();
  // The client thread that starts transfer number transfers / 3 sends it.
  auto halt = [&, target = handles[i]] {
    caf::anon_send(target, Halt{}); // no answer: its node is gone
  };
  auto skipped = transfer(n, book, clients, transfers, prefix,
                          {transfers / 3, halt});
  size_t moved = 0;
  for (size_t k = 0; k < book.size(); ++k) {
    book.refresh(k);
    if (handles[k].node() == victim)
      ++moved;
  }
  auto after = total(self, book);
  bool conserved = after == before;
  std::cout << "kill -9: the node hosting account-" << i << " (and "
            << moved - 1 << " other accounts) was killed a third into "
            << transfers << " transfers; its accounts were moved and "
            << "recovered from the journal; " << book.retries - retries_before
            << " requests retried; total " << before << " -> " << after
            << (conserved ? ": conserved" : ": NOT CONSERVED") << " ("
            << transfers - skipped << " transfers done)" << std::endl;
  return conserved;
}

} // namespace bank
