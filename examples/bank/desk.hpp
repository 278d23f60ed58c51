// SPDX-License-Identifier: Apache-2.0
// The bank's desk: every node that hosts accounts runs one, as the first
// child of its root supervisor. The first client's desk opens the bank: it
// adds the accounts to its supervisor as children placed on the other nodes
// that host accounts (each bound to a cluster-wide name "bank.account-<i>"),
// and the bank stays open for later clients, like a service.
#pragma once

#include <memory>

#include <caf/scoped_actor.hpp>
#include <troupe/error.hpp>
#include <troupe/supervision/supervisor.hpp>

#include "account.hpp"

namespace bank {

struct desk_state {
  static inline const char* name = "bank.desk";
  uint32_t accounts = 0; // once open
};

inline caf::behavior desk(troupe::stateful_actor<desk_state>* self,
                          troupe::node* n) {
  using namespace std::chrono_literals;
  return {
      [self, n](const Open& req) -> caf::result<BankInfo> {
        auto& st = self->state;
        BankInfo info;
        info.set_accounts(req.accounts());
        if (st.accounts != 0 && st.accounts == req.accounts())
          return info; // open already
        if (st.accounts != 0 || req.accounts() == 0)
          return troupe::make_error(
              troupe::errc::bad_config,
              "the bank is open with " + std::to_string(st.accounts) +
                  " accounts, not " + std::to_string(req.accounts()));
        st.accounts = req.accounts();
        info.set_opened_now(true);
        auto rp = self->make_response_promise<BankInfo>();
        auto pending = std::make_shared<uint32_t>(st.accounts);
        for (uint32_t i = 0; i < st.accounts; ++i) {
          auto id = "account-" + std::to_string(i);
          self->request(self->parent(), 30s, troupe::start_child_atom::value,
                        n->remote_child(id, "account", "bank." + id,
                                        troupe::placement::spread,
                                        caf::make_message(id)))
              .then(
                  [rp, pending, info](const troupe::child_status&) mutable {
                    if (--*pending == 0)
                      rp.deliver(info);
                  },
                  [rp](caf::error& err) mutable {
                    rp.deliver(std::move(err));
                  });
        }
        return rp;
      },
      [self](const Info& req) -> caf::result<BankInfo> {
        auto rp = self->make_response_promise<BankInfo>();
        self->request(self->parent(), 5s, troupe::children_atom::value)
            .then(
                [self, rp, req](std::vector<troupe::child_status>& xs) mutable {
                  BankInfo out;
                  out.set_accounts(self->state.accounts);
                  for (auto& x : xs)
                    if (x.id == req.account())
                      out.set_restarts(x.restarts);
                  rp.deliver(std::move(out));
                },
                [rp](caf::error& err) mutable {
                  rp.deliver(std::move(err));
                });
        return rp;
      },
  };
}

/// Starts the node's root supervisor with the desk as its first child and
/// serves the desk under the local name "bank.desk".
inline caf::error open_desk(troupe::node& n) {
  troupe::child_spec spec;
  spec.id = "desk";
  spec.start = [&n](caf::actor_system& sys) {
    return troupe::spawn(sys, desk, &n);
  };
  auto root = n.start_root({}, {std::move(spec)});
  caf::scoped_actor self{n.system()};
  caf::error err;
  self->request(root, std::chrono::seconds{5}, troupe::children_atom::value)
      .receive(
          [&](std::vector<troupe::child_status>& xs) {
            err = n.register_name("bank.desk", xs.at(0).stable);
          },
          [&](caf::error& e) {
            err = std::move(e);
          });
  return err;
}

/// The desk a client asks: this node's, or with `remote` the first seed's.
inline caf::actor find_desk(troupe::node& n, bool remote) {
  if (!remote)
    return n.whereis("bank.desk");
  auto& seeds = n.config().seeds;
  if (seeds.empty())
    throw std::runtime_error("run joins `bank serve` nodes: give --seeds");
  auto ep = troupe::parse_endpoint(seeds[0]);
  auto found = n.lookup(ep->first, ep->second, "bank.desk");
  if (!found)
    throw std::runtime_error("no bank desk at " + seeds[0] + ": " +
                             troupe::describe(found.error()));
  return *found;
}

} // namespace bank
