#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""What an idle cluster costs each node, by size and failure detection
(issue 19): N troupe_cluster_node processes on 127.0.0.1 (OS-chosen ports)
formed through one seed; then, for each size:

  formed     until every node printed "CLUSTER up=N" (from the first start)
  cpu        % of one core per node while idle (mean and max over nodes,
             from /proc/<pid>/stat over --idle-s seconds)
  threads    per node (/proc/<pid>/status), max
  rss        per node, MB (mean)
  false      members marked down while idle (should be 0)
  kill -9    until every other node saw the killed one down
  SIGSTOP    until every other node saw the frozen one down

Every process is started here and stopped by PID. Usage:

  tools/bench/idle_cluster.py --node-bin build/tests/cluster/troupe_cluster_node \\
      [--sizes 8,16,32,64] [--detection mesh,gossip] [--idle-s 10]
      [--etcd-outage-s S]

With --etcd-outage-s the nodes have no seeds and meet through an etcd this
script starts (/usr/bin/etcd, ports the OS chose, a temporary data dir,
--membership etcd): after the kill -9 and SIGSTOP, etcd is killed for S
seconds and restarted; "outage downs" counts members marked down meanwhile
(should be 0) and "after" whether every remaining node still lists the
same members once etcd is back.
"""
import argparse
import os
import queue
import shutil
import signal
import socket
import tempfile
import subprocess
import sys
import threading
import time

TICK = os.sysconf("SC_CLK_TCK")


class Node:
    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     bufsize=1)
        self.lines = queue.Queue()
        self.log = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            stamped = (time.monotonic(), line.rstrip("\n"))
            self.log.append(stamped)
            self.lines.put(stamped)

    def wait_for(self, pred, deadline):
        """The time of the first line (from now on) matching pred."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                at, line = self.lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                if self.proc.poll() is not None:
                    return None
                continue
            if pred(line):
                return at

    def cpu_ticks(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime

    def status(self, key):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def drain(node):
    while True:
        try:
            node.lines.get_nowait()
        except queue.Empty:
            return


def downs_of(node, name, since):
    return sum(1 for at, line in node.log
               if at >= since and line.startswith(f"MEMBER {name} down"))


def all_saw_down(nodes, name, deadline):
    """The latest time at which a node saw `name` down (None: one did not)."""
    latest = 0.0
    for n in nodes:
        at = n.wait_for(lambda l: l.startswith(f"MEMBER {name} down"),
                        deadline)
        if at is None:
            return None
        latest = max(latest, at)
    return latest


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Etcd:
    """An etcd of this run: its own ports and data dir, stopped by PID."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="idle-etcd-")
        self.client, self.peer = free_port(), free_port()
        self.proc = None
        self.start()

    def endpoint(self):
        return f"127.0.0.1:{self.client}"

    def start(self):
        c, p = f"http://127.0.0.1:{self.client}", f"http://127.0.0.1:{self.peer}"
        self.proc = subprocess.Popen(
            ["/usr/bin/etcd", "--data-dir", self.dir, "--listen-client-urls", c,
             "--advertise-client-urls", c, "--listen-peer-urls", p,
             "--initial-advertise-peer-urls", p, "--initial-cluster",
             f"default={p}"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.client), 0.2):
                    return
            except OSError:
                time.sleep(0.05)  # bounded: until the port opens
        raise RuntimeError("etcd did not open its port")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def run(bin_path, size, detection, idle_s, extra, etcd_outage_s=None):
    flags = ["--log-level", "warn", "--detection", detection] + extra
    nodes = []
    etcd = None
    try:
        if etcd_outage_s is not None:
            etcd = Etcd()
            flags += ["--membership", "etcd", "--etcd-endpoints",
                      etcd.endpoint(), "--etcd-lease-ttl", "2s"]
        t0 = time.monotonic()
        seed = Node([bin_path, "--name", "n00", "--port", "0"] + flags)
        nodes.append(seed)
        at = seed.wait_for(lambda l: l.startswith("READY port="),
                           time.monotonic() + 20)
        if at is None:
            raise RuntimeError("the seed did not start:\n"
                               + "\n".join(l for _, l in seed.log))
        port = [l for _, l in seed.log if l.startswith("READY port=")][0]
        port = port.split()[1].split("=")[1]
        seeds = [] if etcd else ["--seeds", f"127.0.0.1:{port}"]
        for i in range(1, size):
            nodes.append(Node([bin_path, "--name", f"n{i:02d}", "--port",
                               "0"] + seeds + flags))
        deadline = time.monotonic() + 60
        formed = 0.0
        for n in nodes:
            if not any(l == f"CLUSTER up={size}" for _, l in n.log):
                at = n.wait_for(lambda l: l == f"CLUSTER up={size}", deadline)
                if at is None:
                    last = {}
                    for m in nodes:
                        ups = [l for _, l in m.log if l.startswith("CLUSTER up=")]
                        k = ups[-1][len("CLUSTER up="):] if ups else "none"
                        last[k] = last.get(k, 0) + 1
                    raise RuntimeError(f"not formed at {size} within 60 s; "
                                       f"nodes by members up: {last}")
            at = [a for a, l in n.log if l == f"CLUSTER up={size}"][0]
            formed = max(formed, at - t0)
        time.sleep(2)  # settle: the last dials and welcomes
        for n in nodes:
            drain(n)
        idle_from = time.monotonic()
        before = [n.cpu_ticks() for n in nodes]
        time.sleep(idle_s)
        after = [n.cpu_ticks() for n in nodes]
        elapsed = time.monotonic() - idle_from
        cpu = [100.0 * (b - a) / TICK / elapsed for a, b in zip(before, after)]
        threads = max(n.status("Threads") for n in nodes)
        rss = sum(n.status("VmRSS") for n in nodes) / len(nodes) / 1024
        false_downs = sum(downs_of(n, m, idle_from) for n in nodes
                          for m in [f"n{i:02d}" for i in range(size)])
        # kill -9 of the last node, SIGSTOP of the one before it.
        victim, frozen = nodes[-1], nodes[-2]
        others = nodes[:-2]
        for n in nodes:
            drain(n)
        killed_at = time.monotonic()
        victim.proc.kill()
        seen = all_saw_down(others + [frozen], f"n{size - 1:02d}",
                            time.monotonic() + 15)
        kill_ms = None if seen is None else (seen - killed_at) * 1000
        for n in others:
            drain(n)
        stopped_at = time.monotonic()
        frozen.proc.send_signal(signal.SIGSTOP)
        seen = all_saw_down(others, f"n{size - 2:02d}", time.monotonic() + 20)
        stop_ms = None if seen is None else (seen - stopped_at) * 1000
        outage = {}
        if etcd:
            time.sleep(3)  # settle: the downs above reach etcd's leases
            for n in others:
                drain(n)
            since = time.monotonic()
            etcd.kill()
            time.sleep(etcd_outage_s)
            etcd.start()
            time.sleep(3)  # the providers resync
            outage["downs"] = sum(
                1 for n in others for at, l in n.log
                if at >= since and " down " in f" {l} ")
            outage["members"] = len(others)
        return {
            "outage": outage,
            "formed": formed, "cpu_mean": sum(cpu) / len(cpu),
            "cpu_max": max(cpu), "threads": threads, "rss": rss,
            "false": false_downs, "kill_ms": kill_ms, "stop_ms": stop_ms,
        }
    finally:
        for n in nodes:
            n.stop()
        if etcd:
            etcd.close()


def fmt_ms(x):
    return "not seen" if x is None else f"{x:.0f} ms"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--node-bin", required=True)
    ap.add_argument("--sizes", default="8,16,32")
    ap.add_argument("--detection", default="mesh,gossip")
    ap.add_argument("--idle-s", type=float, default=10)
    ap.add_argument("--etcd-outage-s", type=float, default=None)
    ap.add_argument("extra", nargs="*", help="more node flags")
    args = ap.parse_args()
    print("| detection | nodes | formed | idle CPU/node mean (max) | "
          "threads/node | RSS/node | false downs | kill -9 seen by all | "
          "SIGSTOP seen by all |")
    print("| --- | --: | --: | --: | --: | --: | --: | --: | --: |")
    for detection in args.detection.split(","):
        for size in [int(s) for s in args.sizes.split(",")]:
            try:
                r = run(args.node_bin, size, detection, args.idle_s,
                        args.extra, args.etcd_outage_s)
            except RuntimeError as e:
                print(f"| {detection} | {size} | failed: {e} |")
                continue
            print(f"| {detection} | {size} | {r['formed']:.2f} s | "
                  f"{r['cpu_mean']:.2f}% ({r['cpu_max']:.2f}%) | "
                  f"{r['threads']} | {r['rss']:.0f} MB | {r['false']} | "
                  f"{fmt_ms(r['kill_ms'])} | {fmt_ms(r['stop_ms'])} |",
                  flush=True)
            if r["outage"]:
                print(f"etcd gone for {args.etcd_outage_s:.0f} s: "
                      f"{r['outage']['downs']} members marked down on "
                      f"{r['outage']['members']} nodes", flush=True)


if __name__ == "__main__":
    sys.exit(main())
