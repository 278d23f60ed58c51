// SPDX-License-Identifier: Apache-2.0
// An account is a persistent actor: only its own handlers touch its balance,
// one message at a time, so a transfer needs no lock; every change is an
// event stored before it is acknowledged, so a crash, a respawn or the loss
// of its node keeps the balance.
#pragma once

#include <csignal>
#include <stdexcept>

#include <troupe/node/node.hpp>
#include <troupe/persistence/event_sourced.hpp>
#include <troupe/wire/proto.hpp>

#include "bank/bank.pb.h"

namespace bank {

using account_actor =
    troupe::persistence::event_sourced<AccountState, AccountEvent>;

/// The fold: pure, so that replaying the events rebuilds the balance.
inline void apply(AccountState& s, const AccountEvent& e) {
  s.set_balance(s.balance() +
                (e.has_deposited() ? e.deposited() : -e.withdrew()));
  if (!e.client().empty())
    (*s.mutable_last_seq())[e.client()] = e.seq();
}

/// Whether the operation `seq` of `client` was applied already (a retry).
inline bool applied(const AccountState& s, const std::string& client,
                    uint64_t seq) {
  auto i = s.last_seq().find(client);
  return !client.empty() && i != s.last_seq().end() && seq <= i->second;
}

inline caf::behavior account(account_actor* self, std::string id) {
  // A snapshot every 200 events, two kept, older events deleted.
  self->setup({"bank.account", id}, apply, {200, 2, true});
  auto reply = [self](bool ok) {
    Amount out;
    out.set_ok(ok);
    out.set_value(self->state().balance());
    return out;
  };
  // Stores the event, then answers: an acknowledged change is durable.
  auto store = [self](AccountEvent ev) {
    auto rp = self->make_response_promise<Amount>();
    self->persist(std::move(ev), [rp](const AccountState& s) mutable {
      Amount out;
      out.set_ok(true);
      out.set_value(s.balance());
      rp.deliver(out);
    });
    return rp;
  };
  return {
      [self, reply, store](const Deposit& x) -> caf::result<Amount> {
        if (applied(self->state(), x.client(), x.seq()))
          return reply(true);
        AccountEvent ev;
        ev.set_deposited(x.amount());
        ev.set_client(x.client());
        ev.set_seq(x.seq());
        return store(std::move(ev));
      },
      [self, reply, store](const Withdraw& x) -> caf::result<Amount> {
        if (applied(self->state(), x.client(), x.seq()))
          return reply(true);
        if (x.amount() > self->state().balance())
          return reply(false);
        AccountEvent ev;
        ev.set_withdrew(x.amount());
        ev.set_client(x.client());
        ev.set_seq(x.seq());
        return store(std::move(ev));
      },
      [reply](const Balance&) {
        return reply(true);
      },
      [](const Crash&) -> Amount {
        throw std::runtime_error("injected crash");
      },
      [](const Halt&) -> Amount {
        std::raise(SIGKILL); // the whole node, as `kill -9` would
        return {};
      },
  };
}

/// Registers the messages and, on nodes that host accounts, the actor type
/// (its argument: the account's id). Accounts are placed by their
/// supervisor (see desk.hpp).
inline void setup(troupe::node& n, bool host_accounts) {
  n.add_message_type<Deposit>().add_message_type<Withdraw>();
  n.add_message_type<Balance>().add_message_type<Crash>();
  n.add_message_type<Halt>().add_message_type<Amount>();
  n.add_message_type<Open>().add_message_type<Info>();
  n.add_message_type<BankInfo>();
  if (host_accounts)
    n.add_actor_type("account",
                     [](caf::actor_system& sys, const caf::message& args) {
                       if (!args.match_elements<std::string>())
                         return caf::actor{};
                       return troupe::spawn(sys, account,
                                            args.get_as<std::string>(0));
                     });
}

} // namespace bank
