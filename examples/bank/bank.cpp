// SPDX-License-Identifier: Apache-2.0
// Accounts are persistent actors: client threads make random transfers at
// the same time and the total is conserved, where the same transfers on
// shared memory lose money; a crashed account, or every account of a node
// killed with SIGKILL mid-transfers, comes back with its balance.
//
//   bank [node flags] local|serve|run
//        [--accounts N] [--transfers N] [--clients N] [--kill-drill N]
//   bank [node flags] chaos --history FILE [--seconds N] [--accounts N]
//        [--clients N]
//
// `serve` hosts accounts and a desk (desk.hpp), prints "READY port=<p>" and
// runs until SIGTERM. `run` joins them (--seeds) and asks the first seed's
// desk to open the bank, whose supervisor places the accounts on the other
// nodes; the bank stays open, so a later run carries on with its balances.
// `local` does it all in one process. `--kill-drill N` (run only) makes N
// more transfers and kills the node of one account a third into them.
// Accounts keep their events in the node's journal (--journal; `memory:`
// by default, which keeps them only as long as the process: give the nodes
// of a cluster one shared `sqlite:PATH`, as `launch` does). Exit code 0 when
// every drill conserved the total; 2: bad input. `chaos` is the workload of
// tools/chaos (chaos.hpp): transfers for N seconds (default 60) under
// injected faults, each operation written to the history FILE.
#include <chrono>
#include <iostream>
#include <map>
#include <memory>

#include <unistd.h>

#include "common/args.hpp"
#include "chaos.hpp"
#include "clients.hpp"
#include "desk.hpp"
#include "drill.hpp"
#include "naive.hpp"

namespace {

using namespace std::chrono_literals;
constexpr int64_t initial = 10000; // per account

/// Opens the bank at `desk` (or finds it open), waits until every account
/// holds its name, and makes the opening deposits once.
std::unique_ptr<bank::account_book>
open_bank(troupe::node& n, troupe::requester& self,
          caf::scoped_actor& events, const caf::actor& desk,
          size_t accounts, bool& opened_now) {
  bank::Open open;
  open.set_accounts(static_cast<uint32_t>(accounts));
  auto opened = self.ask<bank::BankInfo>(desk, 10s, open);
  if (!opened)
    throw std::runtime_error(troupe::describe(opened.error()));
  auto info = std::move(*opened);
  // Each account is found by its cluster-wide name, wherever its supervisor
  // placed it. `n.ref`: a request to an account whose node goes down fails
  // at once instead of waiting for its timeout (the handles in name events
  // are CAF's own).
  std::vector<caf::actor> accs(accounts);
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < accounts; ++i)
    index["bank.account-" + std::to_string(i)] = i;
  size_t missing = accounts;
  if (!bank::await_names(events, [&](const troupe::name_event& e) {
        auto i = index.find(e.name);
        if (e.holder && i != index.end() && !accs[i->second])
          accs[i->second] = n.ref(e.holder), --missing;
        return missing == 0;
      }))
    throw std::runtime_error("the accounts did not start within 20 s");
  auto book = std::make_unique<bank::account_book>(n, accs);
  // The opening deposits are operations like any other: a retry (or a run
  // that opens the bank twice) applies each once.
  opened_now = info.opened_now();
  if (opened_now)
    for (size_t i = 0; i < accounts; ++i)
      bank::ask(self, *book, i,
                bank::operation<bank::Deposit>(initial, "bank-open", 1));
  return book;
}

/// `bank chaos`: transfers for `seconds` under the faults of tools/chaos,
/// every operation written to the history at `path`.
int chaos(troupe::node& n, const caf::actor& desk, size_t accounts,
          size_t clients, size_t seconds, const std::string& path) {
  bank::history hist{path};
  troupe::requester self{n.system()};
  caf::scoped_actor events{n.system()};
  n.subscribe_names(caf::actor_cast<caf::actor>(events));
  bool opened_now = false;
  auto book = open_bank(n, self, events, desk, accounts, opened_now);
  std::cout << "CHAOS accounts=" << accounts << " clients=" << clients
            << " seconds=" << seconds << std::endl;
  auto rc = bank::chaos::run(n, *book, hist, static_cast<uint32_t>(accounts),
                             clients, seconds, 90);
  std::cout << "CHAOS DONE rc=" << rc << std::endl;
  return rc;
}

int job(troupe::node& n, const caf::actor& desk, size_t accounts,
        size_t transfers, size_t clients, size_t kill_transfers) {
  troupe::requester self{n.system()};
  caf::scoped_actor events{n.system()};
  n.subscribe_names(caf::actor_cast<caf::actor>(events));
  bool opened_now = false;
  auto book_ptr = open_bank(n, self, events, desk, accounts, opened_now);
  auto& book = *book_ptr;
  std::cout << "bank: " << accounts << " accounts"
            << (opened_now ? " of " + std::to_string(initial)
                                  : " (open already: a run before this one)")
            << ", " << clients << " client threads, " << transfers
            << " transfers" << std::endl;
  // Operation ids must not repeat across runs: clients are named after
  // this process and its start.
  auto prefix =
      n.name() + "-" + std::to_string(::getpid()) + "-" +
      std::to_string(std::chrono::system_clock::now().time_since_epoch() /
                     std::chrono::milliseconds{1});
  auto before = bank::total(self, book);
  auto t0 = std::chrono::steady_clock::now();
  auto skipped = bank::transfer(n, book, clients, transfers, prefix);
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
  auto after = bank::total(self, book);
  bool conserved = after == before;
  std::cout << "actors: total before " << before << ", after " << after
            << (conserved ? ": conserved" : ": NOT CONSERVED") << " ("
            << transfers - skipped << " transfers done in " << took.count()
            << " s, " << skipped << " skipped: same account or short of money)"
            << std::endl;
  bank::show_naive(accounts, initial, clients, transfers);
  bool kept = bank::crash_drill(self, events, desk, book, accounts / 2);
  bool survived = true;
  if (kill_transfers > 0) {
    if (book.get(accounts / 3).node() == n.system().node())
      throw std::runtime_error("--kill-drill needs accounts on other nodes "
                               "(launch --nodes 3 bank --kill-drill N)");
    survived = bank::kill_drill(n, self, book, accounts / 3, clients,
                                kill_transfers, prefix + "-k");
  }
  // The bank stays open on the cluster: a next run carries on with it.
  return conserved && kept && survived ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  std::map<std::string, size_t> counts{
      {"--accounts", 10}, {"--transfers", 100000}, {"--clients", 8},
      {"--kill-drill", 0}, {"--seconds", 60}};
  std::map<std::string, std::string> texts{{"--history", ""}};
  auto parsed = examples::parse_args("bank", argc, argv, counts, &texts);
  if (!parsed)
    return 2;
  auto& pos = parsed->positional;
  auto mode = pos.size() == 1 ? pos[0] : "";
  if (parsed->help || (mode != "local" && mode != "serve" && mode != "run"
                       && mode != "chaos")
      || (mode == "chaos") != !texts["--history"].empty()) {
    (parsed->help ? std::cout : std::cerr)
        << "usage: bank [node flags] local|serve|run [--accounts N] "
           "[--transfers N] [--clients N] [--kill-drill N]\n"
           "       bank [node flags] chaos --history FILE [--seconds N] "
           "[--accounts N] [--clients N]\n"
        << parsed->help_text;
    return parsed->help ? 0 : 2;
  }
  if (parsed->config.journal.empty())
    parsed->config.journal = "memory:";
  troupe::node n{parsed->config};
  bank::setup(n, mode == "local" || mode == "serve");
  if (auto err = n.start()) {
    std::cerr << "bank: " << troupe::describe(err) << '\n';
    return 1;
  }
  bool client = mode == "run" || mode == "chaos";
  if (!client)
    if (auto err = bank::open_desk(n)) {
      std::cerr << "bank: " << troupe::describe(err) << '\n';
      return 1;
    }
  if (mode == "serve") {
    std::cout << "READY port=" << n.port() << " name=" << n.name() << std::endl;
    return n.run();
  }
  int rc = 1;
  try {
    if (mode == "chaos")
      rc = chaos(n, bank::find_desk(n, true), counts["--accounts"],
                 counts["--clients"], counts["--seconds"], texts["--history"]);
    else
      rc = job(n, bank::find_desk(n, mode == "run"), counts["--accounts"],
               counts["--transfers"], counts["--clients"],
               counts["--kill-drill"]);
  } catch (std::exception& e) {
    std::cerr << "bank: " << e.what() << '\n';
  }
  return n.shutdown() ? rc : 1;
}
