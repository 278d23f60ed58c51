#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""troupe's chaos harness, Jepsen-style: a local cluster of an example's
nodes, its workload running, faults injected on a schedule drawn from a
printed seed (the same seed replays the same schedule), then the checker
(checker.py) over what happened.

  chaos.py [--build DIR] [--seconds S] [--seed N] [--nodes N] [--out DIR]
           [--faults KINDS] [--journal LOC] [--netns] [--postgres]

The fault kinds are in faults.py: kill, stop, starve, leave; partition and
slow with --netns (each node in its own network namespace, netns.py);
pgrestart with --postgres (the journal on the harness's own PostgreSQL
server, pg.py). A kind that cannot run here is skipped with a message, the
others run. After each fault, the membership views must agree again
within --converge-bound-ms (30 s); the next fault waits for that check.

Exit code 0 when the checker found nothing; 1 when it did (the report says
what); 2 on bad usage; 3 when the cluster could not be set up.
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checker  # noqa: E402
import faults  # noqa: E402
import incarnations  # noqa: E402
from sampler import Sampler  # noqa: E402

LOOPBACK = "127.0.0.1"


def now_ms():
    return int(time.time() * 1000)


def say(msg):
    print(f"chaos: {msg}", flush=True)


class Proc:
    """A process of the run: its command, log file, PID and address."""

    def __init__(self, name, out_dir, host=LOOPBACK):
        self.name = name
        self.log = os.path.join(out_dir, f"{name}.log")
        # A run's own log: starts within the run append to it, but a run in
        # an output folder used before must not read the last run's lines
        # (they made a rerun report the old run's sanitizer finding).
        open(self.log, "w").close()
        self.popen = None
        self.host = host
        self.port = 0
        self.starts = 0

    def start(self, argv):
        self.starts += 1
        log = open(self.log, "a")
        log.write(f"==== chaos: start {self.starts} of {self.name} at "
                  f"{now_ms()}\n")
        log.flush()
        self.popen = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL)
        log.close()

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def this_start(self):
        """The log of the current start only."""
        t = self.text()
        return t[t.rfind("==== chaos: start"):]

    def wait_line(self, pred, timeout):
        """Waits for a line of the current start that satisfies `pred`
        (bounded); returns it or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.this_start().splitlines():
                if pred(line):
                    return line
            if not self.alive():
                return None
            time.sleep(0.05)
        return None

    def signal(self, sig):
        if self.alive():
            os.kill(self.popen.pid, sig)

    def wait_exit(self, timeout):
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None


class Cluster:
    def __init__(self, args, net=None, pgserver=None):
        self.args = args
        self.net = net
        self.pg = pgserver
        self.bank = args.bank or os.path.join(args.build, "examples", "bank",
                                              "bank")
        self.tool = args.tool or os.path.join(args.build, "tools", "troupe",
                                              "troupe")
        self.nodes = [Proc(f"n{i + 1}", args.out,
                           net.host(i) if net else LOOPBACK)
                      for i in range(args.nodes)]
        self.client = Proc("client", args.out,
                           net.hub_host() if net else LOOPBACK)
        self.burners = []
        self.faults = []
        self.convergence = []
        self.unexpected_exits = []
        self.sampler = None

    now_ms = staticmethod(now_ms)

    def on_node(self, n, argv):
        """`argv` as run for node `n`: in its namespace with --netns."""
        return self.net.on_node(self.nodes.index(n), argv) if self.net else argv

    def on_hub(self, argv):
        """`argv` as run for the client and the tool: in the hub namespace
        with --netns."""
        return self.net.on_hub(argv) if self.net else argv

    def seeds(self):
        return ",".join(f"{n.host}:{n.port}" for n in self.nodes if n.port)

    def start_node(self, n):
        # As the launcher does: the first node is the seed of the others
        # and has none itself (so a restarted seed starts alone).
        argv = [self.bank, "serve", "--name", n.name, "--host", n.host,
                "--port", str(n.port), "--journal", self.args.journal]
        seed = self.nodes[0]
        if n is not seed:
            argv += ["--seeds", f"{seed.host}:{seed.port}"]
        argv += self.args.node_args
        for attempt in range(5):
            n.start(self.on_node(n, argv))
            line = n.wait_line(lambda l: l.startswith("READY port="), 30)
            if line:
                n.port = int(line.split()[1].split("=")[1])
                return True
            n.signal(signal.SIGKILL)
            n.wait_exit(10)
            time.sleep(0.5)  # the port may still be held: try again
        return False

    def members_up(self, n):
        ups = set()
        for line in n.this_start().splitlines():
            if line.endswith(" is up") and "member '" in line:
                ups.add(line.split("member '")[1].split("'")[0])
        return ups

    def wait_formed(self, timeout):
        deadline = time.monotonic() + timeout
        names = {n.name for n in self.nodes}
        while time.monotonic() < deadline:
            if all(names - {n.name} <= self.members_up(n) for n in self.nodes):
                return True
            time.sleep(0.1)
        return False

    def views(self):
        out = {}
        for n in self.nodes:
            try:
                res = subprocess.run(
                    self.on_hub([self.tool, "nodes", f"{n.host}:{n.port}",
                                 "--json", "--timeout", "10"]),
                    capture_output=True, text=True, timeout=30)
                snap = json.loads(res.stdout) if res.returncode == 0 else None
            except (subprocess.TimeoutExpired, ValueError):
                snap = None
            if snap is None:
                out[n.name] = None
                continue
            out[n.name] = {(m["name"], m["incarnation"]) for m in snap["nodes"]
                           if m["status"] == "up" and m["name"] != "client"}
        return out

    def converged_views(self, timeout):
        """Membership views until they agree (bounded); the views and
        whether they agreed."""
        deadline = time.monotonic() + timeout
        while True:
            v = self.views()
            if not checker.check_views(v):
                return v, True
            if time.monotonic() > deadline:
                return v, False
            time.sleep(1)

    # -- faults -----------------------------------------------------------

    def record(self, kind, node, t0, **extra):
        f = {"t": t0, "end": now_ms(), "kind": kind, "node": node}
        f.update(extra)
        self.faults.append(f)
        say(f"{kind} {node}: {json.dumps(extra) if extra else 'done'} "
            f"({f['end'] - t0} ms)")
        return f

    def watch_convergence(self, fault, bound_ms):
        """A thread that asks every node for its membership view from the
        end of `fault` until they agree (or the bound is over), and
        records when. Bounded: the bound plus one round of `views()`."""
        def watch():
            v, agreed = self.converged_views(bound_ms / 1000)
            took = now_ms() - fault["end"]
            entry = {"kind": fault["kind"], "node": fault["node"],
                     "t": fault["t"], "end": fault["end"],
                     "converged_ms": took if agreed else None}
            if not agreed:
                entry["views"] = {n: sorted(f"{m}#{i}" for m, i in x)
                                  if x is not None else None
                                  for n, x in v.items()}
            self.convergence.append(entry)
            say(f"views after {fault['kind']} {fault['node']}: "
                + (f"one view after {took} ms" if agreed else
                   f"NOT one view after {took} ms: {entry['views']}"))
        t = threading.Thread(target=watch, daemon=True)
        t.start()
        return t

    def wait_watcher(self, watcher, bound_ms):
        """Waits for a `watch_convergence` thread (bounded), restarting
        meanwhile the nodes that exited by themselves: a node's exit is
        an anomaly of its own, and the others' views are still watched."""
        deadline = time.monotonic() + bound_ms / 1000 + 120
        while watcher is not None and watcher.is_alive() \
                and time.monotonic() < deadline:
            watcher.join(1)
            self.check_alive()

    def stop_burners(self):
        for b in self.burners:
            b.kill()
            b.wait()
        self.burners = []

    def check_alive(self):
        for n in self.nodes:
            if n.popen is not None and not n.alive():
                self.unexpected_exits.append(
                    f"{n.name} exited by itself with code {n.popen.returncode}")
                say(f"{n.name} exited by itself ({n.popen.returncode}); "
                    "restarting it")
                self.start_node(n)
        if self.pg is not None and not self.pg.alive():
            self.unexpected_exits.append("postgres exited by itself")
            say("postgres exited by itself; starting it again")
            try:
                self.pg.start()
            except RuntimeError as e:
                self.unexpected_exits.append(f"postgres did not start: {e}")

    def stop_all(self):
        """SIGTERM to every process, then SIGKILL after 20 s; returns the
        names of those that needed it."""
        self.stop_burners()
        stubborn = []
        for p in [self.client] + self.nodes:
            p.signal(signal.SIGCONT)
            p.signal(signal.SIGTERM)
        for p in [self.client] + self.nodes:
            if p.popen is not None and p.wait_exit(20) is None:
                stubborn.append(p.name)
                p.signal(signal.SIGKILL)
                p.wait_exit(10)
        return stubborn


class Interrupted(Exception):
    pass


def on_signal(signum, _frame):
    raise Interrupted(f"signal {signum}")


def run(args):
    os.makedirs(args.out, exist_ok=True)
    seed = args.seed if args.seed is not None else random.randrange(1 << 31)
    say(f"seed {seed} (replay: --seed {seed}); output in {args.out}")
    rng = random.Random(seed)
    report = {"seed": seed, "seconds": args.seconds, "nodes": args.nodes}
    history = os.path.join(args.out, "history.jsonl")
    views = {}
    c = net = server = None
    # SIGTERM and SIGHUP end the run as Ctrl-C does: through the finally
    # below, which stops every process and removes the namespaces.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    try:
        kinds, net, server = faults.usable(args, say)
        if not args.journal:
            args.journal = "sqlite:" + os.path.join(args.out, "journal.db")
        report.update({"kinds": kinds, "netns": net is not None,
                       "slow_mechanism": net.mechanism if net else None,
                       "journal": args.journal})
        if not kinds:
            say("no fault kind can run here")
            return 3
        c = Cluster(args, net, server)
        code = drive(c, args, rng, kinds, history, report)
        if code is not None:
            return code
        views, _ = c.converged_views(30)
        report["views"] = {n: sorted(f"{m}#{i}" for m, i in v) if v else None
                           for n, v in views.items()}
    except (KeyboardInterrupt, Interrupted) as e:
        say(f"interrupted ({str(e) or 'Ctrl-C'}): stopping everything it started")
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stubborn = c.stop_all() if c else []
        if server is not None and not server.stop():
            stubborn.append("postgres")
        for e in net.close() if net else []:
            say(e)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    return check(c, args, history, views, report, stubborn)


def drive(c, args, rng, kinds, history, report):
    """Starts the cluster and the workload, injects the faults until a
    while before the workload ends and waits for it. None when it ran, an
    exit code when the cluster could not be set up."""
    for n in c.nodes:
        if not c.start_node(n):
            say(f"{n.name} did not start:\n{n.text()[-2000:]}")
            return 3
    if not c.wait_formed(30):
        say("the cluster did not form within 30 s")
        return 3
    c.client.start(c.on_hub(
        [c.bank, "chaos", "--name", "client", "--host", c.client.host,
         "--port", "0", "--seeds", c.seeds(), "--history", history,
         "--seconds", str(args.seconds), "--accounts", str(args.accounts),
         "--clients", str(args.clients), "--journal", "memory:"]
        + args.node_args))
    if not c.client.wait_line(lambda l: l.startswith("CHAOS accounts="), 60):
        say("the workload did not start:\n" + c.client.text()[-3000:])
        return 3
    say(f"workload running; faults {','.join(kinds)}")
    c.sampler = Sampler(
        lambda ep, t: subprocess.run(
            c.on_hub([c.tool, "tree", ep, "--json", "--timeout", str(t)]),
            capture_output=True, text=True, timeout=3 * t + 5),
        lambda: [f"{n.host}:{n.port}" for n in c.nodes if n.port])
    c.sampler.start()
    # Faults stop a while before the workload does, so that the recovery
    # from the last one is seen.
    last = time.monotonic() + args.seconds - min(20, args.seconds // 4)
    schedule = faults.schedule(rng, kinds, args.nodes)
    watcher = None
    bound = args.converge_bound_ms
    while time.monotonic() < last:
        time.sleep(rng.uniform(3, 7))
        # The next fault waits for the views to agree (or the bound).
        c.wait_watcher(watcher, bound)
        c.check_alive()
        if time.monotonic() >= last or not c.client.alive():
            break
        kind, i = next(schedule)
        f = faults.inject(c, kind, i, rng)
        watcher = c.watch_convergence(f, bound)
    c.wait_watcher(watcher, bound)
    c.check_alive()
    code = c.client.wait_exit(args.seconds + 150)
    c.sampler.stop()
    if code is None:
        say("the workload did not finish")
    report["workload_exit"] = code
    # The cluster's trees as the run left them, for the post-mortem.
    for n in c.nodes:
        with open(os.path.join(args.out, f"tree-{n.name}.json"), "w") as f:
            subprocess.run(c.on_hub([c.tool, "tree", f"{n.host}:{n.port}",
                                     "--json", "--timeout", "10"]),
                           stdout=f, stderr=subprocess.STDOUT, timeout=30)
    return None


def check(c, args, history, views, report, stubborn):
    hist = []
    if os.path.exists(history):
        with open(history) as f:
            for line in f:
                try:
                    hist.append(json.loads(line))
                except ValueError:
                    pass  # a line cut short by a kill
    money, a1 = checker.check_money(hist)
    recovery, a2 = checker.check_recovery(hist, c.faults, args.recovery_bound_ms)
    logs = {p.name: p.text() for p in c.nodes + [c.client]}
    names, a3 = checker.check_logs(logs)
    a4 = checker.check_views(views)
    convergence, a5 = checker.check_convergence(c.convergence,
                                                args.converge_bound_ms)
    samples = c.sampler.samples if c.sampler else []
    holders, a6 = incarnations.check(samples, args.duplicate_window_ms)
    if len(samples) < 3:
        a6.append(f"only {len(samples)} samples of who holds each name")
    anomalies = a1 + a2 + a3 + a4 + a5 + a6 + c.unexpected_exits
    if report.get("workload_exit") != 0:
        anomalies.append(f"the workload exited with {report.get('workload_exit')}")
    anomalies += [f"{n} did not stop within 20 s of SIGTERM" for n in stubborn]
    kinds = {}
    for f in c.faults:
        kinds[f["kind"]] = kinds.get(f["kind"], 0) + 1
    report.update({"faults": kinds, "fault_log": c.faults, **money,
                   "recovery": recovery, "convergence": convergence,
                   "convergence_log": c.convergence, **names,
                   "holders": holders,
                   "anomalies": anomalies})
    with open(os.path.join(args.out, "report.json"), "w") as f:
        json.dump(report, f, indent=2)
    say(f"faults {kinds}; operations {money['operations']}; money lost "
        f"{money['money_lost']}, made up {money['money_made_up']}; names "
        f"held twice {names['names_registered_twice']}; two live holders "
        f"of a name or persistence id in {holders['duplicates_seen']} of "
        f"{holders['samples']} samples, longest "
        f"{holders['longest_duplicate_ms']} ms")
    for kind, r in sorted(recovery.items()):
        say(f"recovery after {kind}: n={r['n']} p50={r['p50_ms']} ms "
            f"p90={r['p90_ms']} ms max={r['max_ms']} ms")
    for kind, r in sorted(convergence.items()):
        say(f"one view after {kind}: {r['converged']}/{r['n']} within "
            f"{args.converge_bound_ms} ms, p50={r['p50_ms']} ms "
            f"max={r['max_ms']} ms")
    for a in anomalies:
        say(f"ANOMALY {a}")
    say(("PASS" if not anomalies else "FAIL") + f" (seed {report['seed']}); "
        "report in " + os.path.join(args.out, "report.json"))
    return 0 if not anomalies else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default="build", help="the build directory")
    p.add_argument("--bank", help="the bank example (default: in --build)")
    p.add_argument("--tool", help="the troupe tool (default: in --build)")
    p.add_argument("--seconds", type=int, default=75)
    p.add_argument("--seed", type=int)
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--accounts", type=int, default=10)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--out", default="/tmp/troupe-chaos")
    p.add_argument("--journal", default="",
                   help="the nodes' journal (default: sqlite in --out; "
                        "with --postgres: the harness's PostgreSQL)")
    p.add_argument("--faults", default="",
                   help="comma-separated kinds (default: kill,stop,starve,"
                        "leave, plus partition,slow with --netns and "
                        "pgrestart with --postgres)")
    p.add_argument("--netns", action="store_true",
                   help="each node in its own network namespace (root): "
                        "enables partition and slow")
    p.add_argument("--postgres", action="store_true",
                   help="the journal on a PostgreSQL server the harness "
                        "starts: enables pgrestart")
    p.add_argument("--recovery-bound-ms", type=int, default=30000)
    p.add_argument("--duplicate-window-ms", type=int, default=10000,
                   help="how long two live holders of one name or "
                   "persistence id may be seen (a node frozen or cut off "
                   "keeps its copies until it fences itself)")
    p.add_argument("--converge-bound-ms", type=int, default=30000,
                   help="after each fault, the membership views must agree "
                        "within this")
    p.add_argument("--node-args", default="",
                   help="more node flags for every process, space-separated")
    args = p.parse_args()
    if not args.faults:
        args.faults = ",".join(faults.BASIC
                               + (faults.NETWORK if args.netns else [])
                               + (faults.POSTGRES if args.postgres else []))
    args.faults = [k for k in args.faults.split(",") if k]
    args.node_args = args.node_args.split()
    bad = set(args.faults) - set(faults.ALL)
    if bad or args.nodes < 2 or args.seconds < 20:
        p.error(f"unknown faults {sorted(bad)}" if bad
                else "needs --nodes >= 2 and --seconds >= 20")
    if args.postgres and args.journal:
        p.error("--postgres and --journal: choose one")
    args.out = os.path.abspath(args.out)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
