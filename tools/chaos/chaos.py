#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""troupe's chaos harness, Jepsen-style: a local cluster of an example's
nodes on 127.0.0.1, its workload running, faults injected on a schedule
drawn from a printed seed (the same seed replays the same schedule), then
the checker (checker.py) over what happened.

  chaos.py [--build DIR] [--seconds S] [--seed N] [--nodes N] [--out DIR]
           [--faults kill,stop,starve,leave] [--journal LOC]

Faults: `kill` (SIGKILL, restart on the same port a moment later; the seed
node too), `stop` (SIGSTOP for 2-6 s, then SIGCONT), `starve` (the node
shares one CPU with busy processes for 4-8 s, at the lowest priority),
`leave` (SIGTERM, a graceful leave, then a restart). The first faults of a
run are one of each kind, with `kill` on the seed and on another node.

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
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checker
import incarnations
from sampler import Sampler  # noqa: E402

HOST = "127.0.0.1"


def now_ms():
    return int(time.time() * 1000)


def say(msg):
    print(f"chaos: {msg}", flush=True)


class Proc:
    """A process of the run: its command, log file and PID."""

    def __init__(self, name, out_dir):
        self.name = name
        self.log = os.path.join(out_dir, f"{name}.log")
        self.popen = None
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
    def __init__(self, args):
        self.args = args
        self.bank = args.bank or os.path.join(args.build, "examples", "bank",
                                              "bank")
        self.tool = args.tool or os.path.join(args.build, "tools", "troupe",
                                              "troupe")
        self.nodes = [Proc(f"n{i + 1}", args.out) for i in range(args.nodes)]
        self.client = Proc("client", args.out)
        self.burners = []
        self.faults = []
        self.unexpected_exits = []

    def seeds(self):
        return ",".join(f"{HOST}:{n.port}" for n in self.nodes if n.port)

    def start_node(self, n):
        # As the launcher does: the first node is the seed of the others
        # and has none itself (so a restarted seed starts alone).
        argv = [self.bank, "serve", "--name", n.name, "--host", HOST,
                "--port", str(n.port), "--journal", self.args.journal]
        if n is not self.nodes[0]:
            argv += ["--seeds", f"{HOST}:{self.nodes[0].port}"]
        argv += self.args.node_args
        for attempt in range(5):
            n.start(argv)
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
                    [self.tool, "nodes", f"{HOST}:{n.port}", "--json",
                     "--timeout", "10"], capture_output=True, text=True,
                    timeout=30)
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
        """Membership views until they agree (bounded)."""
        deadline = time.monotonic() + timeout
        while True:
            v = self.views()
            if not checker.check_views(v) or time.monotonic() > deadline:
                return v
            time.sleep(1)

    # -- faults -----------------------------------------------------------

    def record(self, kind, node, t0, **extra):
        f = {"t": t0, "end": now_ms(), "kind": kind, "node": node.name}
        f.update(extra)
        self.faults.append(f)
        say(f"{kind} {node.name}: {json.dumps(extra) if extra else 'done'} "
            f"({f['end'] - t0} ms)")

    def fault(self, kind, node, rng):
        t0 = now_ms()
        if kind == "kill":
            node.signal(signal.SIGKILL)
            node.wait_exit(10)
            time.sleep(rng.uniform(1, 3))
            ok = self.start_node(node)
            self.record(kind, node, t0, restarted=ok)
            return ok
        if kind == "leave":
            node.signal(signal.SIGTERM)
            code = node.wait_exit(30)
            if code is None:
                self.unexpected_exits.append(f"{node.name} did not stop within "
                                             "30 s of SIGTERM")
                node.signal(signal.SIGKILL)
                node.wait_exit(10)
            ok = self.start_node(node)
            self.record(kind, node, t0, exit=code, restarted=ok)
            return ok
        if kind == "stop":
            secs = rng.uniform(2, 6)
            node.signal(signal.SIGSTOP)
            time.sleep(secs)
            node.signal(signal.SIGCONT)
            self.record(kind, node, t0, seconds=round(secs, 1))
            return True
        if kind == "starve":
            secs = rng.uniform(4, 8)
            cpu = {sorted(os.sched_getaffinity(0))[0]}
            pid = node.popen.pid
            before = os.sched_getaffinity(pid)
            for _ in range(3):
                b = subprocess.Popen([sys.executable, "-c", "while True: pass"])
                os.sched_setaffinity(b.pid, cpu)
                self.burners.append(b)
            for tid in os.listdir(f"/proc/{pid}/task"):
                try:
                    os.sched_setaffinity(int(tid), cpu)
                    os.setpriority(os.PRIO_PROCESS, int(tid), 19)
                except OSError:
                    pass
            time.sleep(secs)
            self.stop_burners()
            for tid in os.listdir(f"/proc/{pid}/task") if node.alive() else []:
                try:
                    os.sched_setaffinity(int(tid), before)
                    os.setpriority(os.PRIO_PROCESS, int(tid), 0)
                except OSError:
                    pass
            self.record(kind, node, t0, seconds=round(secs, 1))
            return True
        raise ValueError(kind)

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


def schedule(rng, kinds, nodes):
    """The faults, endless: one of each kind first (kill on the seed and
    on another node), then random ones. Yields (kind, node index)."""
    first = []
    for k in kinds:
        if k == "kill":
            first += [("kill", 0), ("kill", rng.randrange(1, nodes))]
        else:
            first.append((k, rng.randrange(nodes)))
    rng.shuffle(first)
    yield from first
    while True:
        yield rng.choice(kinds), rng.randrange(nodes)


def run(args):
    os.makedirs(args.out, exist_ok=True)
    if not args.journal:
        args.journal = "sqlite:" + os.path.join(args.out, "journal.db")
    seed = args.seed if args.seed is not None else random.randrange(1 << 31)
    say(f"seed {seed} (replay: --seed {seed}); output in {args.out}")
    rng = random.Random(seed)
    c = Cluster(args)
    report = {"seed": seed, "seconds": args.seconds, "nodes": args.nodes}
    history = os.path.join(args.out, "history.jsonl")
    views = {}
    sampler = None
    try:
        for n in c.nodes:
            if not c.start_node(n):
                say(f"{n.name} did not start:\n{n.text()[-2000:]}")
                return 3
        if not c.wait_formed(30):
            say("the cluster did not form within 30 s")
            return 3
        c.client.start([c.bank, "chaos", "--name", "client", "--host", HOST,
                        "--port", "0", "--seeds", c.seeds(), "--history",
                        history, "--seconds", str(args.seconds), "--accounts",
                        str(args.accounts), "--clients", str(args.clients),
                        "--journal", "memory:"] + args.node_args)
        if not c.client.wait_line(lambda l: l.startswith("CHAOS accounts="), 60):
            say("the workload did not start:\n" + c.client.text()[-3000:])
            return 3
        say("workload running")
        sampler = Sampler(
            lambda ep, t: subprocess.run(
                [c.tool, "tree", ep, "--json", "--timeout", str(t)],
                capture_output=True, text=True, timeout=3 * t + 5),
            lambda: [f"{HOST}:{n.port}" for n in c.nodes if n.port])
        sampler.start()
        # Faults stop a while before the workload does, so that the
        # recovery from the last one is seen.
        last = time.monotonic() + args.seconds - min(20, args.seconds // 4)
        faults = schedule(rng, args.faults, args.nodes)
        while time.monotonic() < last:
            time.sleep(rng.uniform(3, 7))
            c.check_alive()
            if time.monotonic() >= last or not c.client.alive():
                break
            kind, i = next(faults)
            c.fault(kind, c.nodes[i], rng)
        c.check_alive()
        code = c.client.wait_exit(args.seconds + 150)
        sampler.stop()
        if code is None:
            say("the workload did not finish")
        report["workload_exit"] = code
        # The cluster's trees as the run left them, for the post-mortem.
        for n in c.nodes:
            with open(os.path.join(args.out, f"tree-{n.name}.json"), "w") as f:
                subprocess.run([c.tool, "tree", f"{HOST}:{n.port}", "--json",
                                "--timeout", "10"], stdout=f,
                               stderr=subprocess.STDOUT, timeout=30)
        views = c.converged_views(30)
        report["views"] = {n: sorted(f"{m}#{i}" for m, i in v) if v else None
                           for n, v in views.items()}
    finally:
        stubborn = c.stop_all()
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
    samples = sampler.samples if sampler else []
    holders, a5 = incarnations.check(samples, args.duplicate_window_ms)
    if len(samples) < 3:
        a5.append(f"only {len(samples)} samples of who holds each name")
    anomalies = a1 + a2 + a3 + a4 + a5 + c.unexpected_exits
    if report.get("workload_exit") != 0:
        anomalies.append(f"the workload exited with {report.get('workload_exit')}")
    anomalies += [f"{n} did not stop within 20 s of SIGTERM" for n in stubborn]
    kinds = {}
    for f in c.faults:
        kinds[f["kind"]] = kinds.get(f["kind"], 0) + 1
    report.update({"faults": kinds, "fault_log": c.faults, **money,
                   "recovery": recovery, **names, "holders": holders,
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
    for a in anomalies:
        say(f"ANOMALY {a}")
    say(("PASS" if not anomalies else "FAIL") + f" (seed {seed}); report in "
        + os.path.join(args.out, "report.json"))
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
                   help="the nodes' journal (default: sqlite in --out)")
    p.add_argument("--faults", default="kill,stop,starve,leave")
    p.add_argument("--recovery-bound-ms", type=int, default=30000)
    p.add_argument("--duplicate-window-ms", type=int, default=10000,
                   help="how long two live holders of one name or "
                   "persistence id may be seen (a node frozen or cut off "
                   "keeps its copies until it fences itself)")
    p.add_argument("--node-args", default="",
                   help="more node flags for every process, space-separated")
    args = p.parse_args()
    args.faults = [k for k in args.faults.split(",") if k]
    args.node_args = args.node_args.split()
    bad = set(args.faults) - {"kill", "stop", "starve", "leave"}
    if bad or args.nodes < 2 or args.seconds < 20:
        p.error(f"unknown faults {sorted(bad)}" if bad
                else "needs --nodes >= 2 and --seconds >= 20")
    args.out = os.path.abspath(args.out)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
