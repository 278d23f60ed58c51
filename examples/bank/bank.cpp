// Accounts are actors: client threads make random transfers at the same time
// and the total is conserved, where the same transfers on shared memory lose
// money; a crashed account is restarted by its supervisor, without its
// balance (state lives in memory only until troupe has persistent actors).
//
//   bank [node flags] local|serve|run [--accounts N] [--transfers N] [--clients
//   N]
//
// `local` runs it all in one process. `serve` hosts accounts, prints
// "READY port=<p>" and runs until SIGTERM; `run` joins them (--seeds) and
// places the accounts there. Exit code 0 when the actors conserved the total
// and the crash lost exactly the crashed account's balance; 2 on bad input.
#include <iostream>
#include <map>

#include "cli.hpp"
#include "clients.hpp"
#include "drill.hpp"
#include "naive.hpp"

namespace {

using namespace std::chrono_literals;
constexpr int64_t initial = 10000; // per account

int job(troupe::node& n, size_t accounts, size_t transfers, size_t clients) {
  caf::scoped_actor self{n.system()}, events{n.system()};
  n.subscribe_names(caf::actor_cast<caf::actor>(events));
  // Each account is a supervised child placed on a node that hosts the type
  // (other nodes first) and reached through its cluster-wide name.
  std::vector<troupe::child_spec> specs;
  std::vector<caf::actor> accs;
  std::map<std::string, bool> up;
  for (size_t i = 0; i < accounts; ++i) {
    auto id = "account-" + std::to_string(i);
    specs.push_back(
        n.remote_child(id, "account", "bank." + id, troupe::placement::spread));
    accs.push_back(n.global_ref("bank." + id));
    up["bank." + id] = false;
  }
  auto root = n.start_root({}, std::move(specs));
  size_t missing = accounts;
  if (!bank::await_names(events, [&](const troupe::name_event& e) {
        auto i = up.find(e.name);
        if (e.holder && i != up.end() && !i->second)
          i->second = true, --missing;
        return missing == 0;
      }))
    throw std::runtime_error("the accounts did not start within 20 s");
  for (auto& a : accs)
    bank::ask(self, a, bank::with_amount<bank::Deposit>(initial));
  std::cout << "bank: " << accounts << " accounts of " << initial << ", "
            << clients << " client threads, " << transfers << " transfers"
            << std::endl;
  auto before = bank::total(self, accs);
  auto t0 = std::chrono::steady_clock::now();
  auto skipped = bank::transfer(n, accs, clients, transfers);
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
  auto after = bank::total(self, accs);
  bool conserved = after == before;
  std::cout << "actors: total before " << before << ", after " << after
            << (conserved ? ": conserved" : ": NOT CONSERVED") << " ("
            << transfers - skipped << " transfers done in " << took.count()
            << " s, " << skipped << " skipped: same account or short of money)"
            << std::endl;
  auto naive = bank::naive_transfers(accounts, initial, clients, transfers);
  auto drift = naive - before;
  std::cout << "naive threads: total before " << before << ", after " << naive
            << (drift == 0 ? ": conserved this time, by luck"
                           : ": NOT conserved, ")
            << (drift < 0   ? "lost "
                : drift > 0 ? "made up "
                            : "")
            << (drift < 0 ? -drift : drift) << " (unsynchronised read-modify-"
            << "write of shared balances: a write from a stale read wipes out "
               "another thread's withdrawal or deposit; a yield between read "
               "and write makes that happen on every run)"
            << std::endl;
  bool exact = bank::crash_drill(n, self, events, root, accs, accounts / 2);
  // The job is over: its supervisor stops the accounts, wherever they run.
  self->monitor(root);
  self->send_exit(root, caf::exit_reason::user_shutdown);
  self->receive([](caf::down_msg&) {}, caf::after(10s) >> [] {});
  return conserved && exact ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args{argv, argv + argc};
  std::map<std::string, size_t> counts{
      {"--accounts", 10}, {"--transfers", 100000}, {"--clients", 8}};
  if (!bank::take_counts(args, counts))
    return 2;
  std::vector<const char*> rest;
  for (auto& a : args)
    rest.push_back(a.c_str());
  auto parsed = troupe::parse_node_config(static_cast<int>(rest.size()),
                                          rest.data(), true);
  if (!parsed) {
    std::cerr << "bank: " << troupe::describe(parsed.error()) << '\n';
    return 2;
  }
  auto& pos = parsed->positional;
  auto mode = pos.size() == 1 ? pos[0] : "";
  if (parsed->help || (mode != "local" && mode != "serve" && mode != "run")) {
    (parsed->help ? std::cout : std::cerr)
        << "usage: bank [node flags] local|serve|run [--accounts N] "
           "[--transfers N] [--clients N]\n"
        << parsed->help_text;
    return parsed->help ? 0 : 2;
  }
  troupe::node n{parsed->config};
  bank::setup(n, mode != "run");
  if (auto err = n.start()) {
    std::cerr << "bank: " << troupe::describe(err) << '\n';
    return 1;
  }
  if (mode == "serve") {
    std::cout << "READY port=" << n.port() << " name=" << n.name() << std::endl;
    return n.run();
  }
  int rc = 1;
  try {
    if (mode == "run" && !bank::await_host(n))
      throw std::runtime_error("no node that hosts accounts came up within "
                               "20 s (start `bank serve` nodes, give --seeds)");
    rc = job(n, counts["--accounts"], counts["--transfers"],
             counts["--clients"]);
  } catch (std::exception& e) {
    std::cerr << "bank: " << e.what() << '\n';
  }
  return n.shutdown() ? rc : 1;
}
