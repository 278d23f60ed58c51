// The crash drill: an account's handler throws, its supervisor starts it
// again, and whatever it held is gone (state lives in memory only until
// troupe has persistent actors). Nothing hides the loss: it is printed.
#pragma once

#include <iostream>

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

/// Crashes the account "account-<i>" (reached as `accs[i]` and named
/// "bank.account-<i>"), waits until its supervisor has started it again
/// (and points `accs[i]` at the new actor), and
/// returns whether the total dropped by exactly the balance it held.
/// `events` is subscribed to the node's name events; `desk` is the bank's.
inline bool crash_drill(caf::scoped_actor& self, caf::scoped_actor& events,
                        const caf::actor& desk, std::vector<caf::actor>& accs,
                        size_t i) {
  auto id = "account-" + std::to_string(i);
  auto name = "bank." + id;
  auto before = total(self, accs);
  auto held = ask(self, accs[i], Balance{}).value();
  self->request(accs[i], std::chrono::seconds{10}, Crash{})
      .receive([](Amount&) {},
               [&](caf::error& e) {
                 std::cout << "crash: " << id << " held " << held
                           << ", then failed: " << troupe::describe(e)
                           << std::endl;
               });
  // The supervisor spawns it anew and binds the name to the new actor.
  if (!await_names(events, [&](const troupe::name_event& e) {
        if (e.name != name || !e.holder || e.holder == accs[i])
          return false;
        accs[i] = e.holder;
        return true;
      }))
    throw std::runtime_error(id + " was not restarted within 20 s");
  Info info;
  info.set_account(id);
  uint64_t restarts = 0;
  self->request(desk, std::chrono::seconds{5}, std::move(info))
      .receive(
          [&](BankInfo& x) {
            restarts = x.restarts();
          },
          [](caf::error&) {});
  auto now = ask(self, accs[i], Balance{}).value();
  auto after = total(self, accs);
  bool exact = before - after == held;
  std::cout << "crash: its supervisor restarted it (restarts=" << restarts
            << "), balance now " << now << "; total " << before << " -> "
            << after << ": lost " << before - after
            << (exact ? ", exactly" : ", NOT") << " the balance it held "
            << "(state is in memory only until troupe has persistent actors)"
            << std::endl;
  return exact;
}

} // namespace bank
