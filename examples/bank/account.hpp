// An account is an actor: only its own handlers touch its balance, one
// message at a time, so a transfer needs no lock.
#pragma once

#include <stdexcept>

#include <troupe/node/node.hpp>
#include <troupe/wire/proto.hpp>

#include "bank/bank.pb.h"

namespace bank {

struct account_state {
  static inline const char* name = "account";
  // In memory only: an account that is restarted starts again at 0. That is
  // what the crash drill shows, until troupe has persistent actors.
  int64_t balance = 0;
};

inline caf::behavior account(troupe::stateful_actor<account_state>* self) {
  auto reply = [self](bool ok) {
    Amount out;
    out.set_ok(ok);
    out.set_value(self->state.balance);
    return out;
  };
  return {
      [self, reply](const Deposit& x) {
        self->state.balance += x.amount();
        return reply(true);
      },
      [self, reply](const Withdraw& x) {
        if (x.amount() > self->state.balance)
          return reply(false);
        self->state.balance -= x.amount();
        return reply(true);
      },
      [reply](const Balance&) {
        return reply(true);
      },
      [](const Crash&) -> Amount {
        throw std::runtime_error("injected crash");
      },
  };
}

/// Registers the messages and, on nodes that host accounts, the actor type.
/// Accounts are placed by their supervisor (see desk.hpp).
inline void setup(troupe::node& n, bool host_accounts) {
  n.add_message_type<Deposit>().add_message_type<Withdraw>();
  n.add_message_type<Balance>().add_message_type<Crash>();
  n.add_message_type<Amount>().add_message_type<Open>();
  n.add_message_type<Info>().add_message_type<BankInfo>();
  if (host_accounts)
    n.add_actor_type("account",
                     [](caf::actor_system& sys, const caf::message&) {
                       return troupe::spawn(sys, account);
                     });
}

} // namespace bank
