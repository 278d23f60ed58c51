#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""What an idle cluster costs: threads and CPU per node.

Starts N nodes of a cluster node binary (the tests' troupe_cluster_node, or
any program that takes the node flags and prints "CLUSTER up=<n>") on
127.0.0.1 with OS-chosen ports, the first as seed; waits until every node
prints "CLUSTER up=N", lets it settle, then reads each node's thread count
and the CPU it used over a window (/proc/PID/stat). Stops only the
processes it started, by PID.

    cluster_threads.py BINARY N [--settle S] [--window S] [--ring]
                    [-- NODE FLAGS...]

--ring: light traffic instead of none: node i holds the cluster name w<i>
(an echo) and asks w<i+1> every 100 ms (troupe_cluster_node's local= and
ask=), so every node has a frame on its links every 50 ms or so.
"""
import argparse
import os
import re
import select
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter

TICK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def thread_ticks(pid):
    """CPU ticks by thread name."""
    out = Counter()
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                text = f.read()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        out[name] += int(fields[11]) + int(fields[12])
    return out


def threads(pid):
    names = Counter()
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                names[f.read().strip()] += 1
        except OSError:
            pass
    return names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("n", type=int)
    ap.add_argument("--settle", type=float, default=5.0)
    ap.add_argument("--window", type=float, default=10.0)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--ring", action="store_true")
    ap.add_argument("flags", nargs="*")
    a = ap.parse_args()
    procs = []
    lines = {}
    try:
        def start(name, seeds):
            args = [a.binary, "--name", name, "--host", "127.0.0.1",
                    "--port", "0", "--log-level", "warn"] + a.flags
            if seeds:
                args += ["--seeds", seeds]
            if a.ring:
                i = int(name[1:])
                args += [f"local=w{i}", f"ask=w{i % a.n + 1}"]
            p = subprocess.Popen(args, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL)
            procs.append(p)
            lines[p.stdout.fileno()] = (p, [], bytearray())
            return p

        def wait_for(pred, what):
            deadline = time.time() + a.timeout
            while not pred():
                left = deadline - time.time()
                if left <= 0:
                    sys.exit(f"timed out waiting for {what}")
                ready, _, _ = select.select(list(lines), [], [], left)
                for fd in ready:
                    p, got, buf = lines[fd]
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        sys.exit(f"node {p.pid} ended early")
                    buf += chunk
                    *done, rest = buf.split(b"\n")
                    got += [l.decode().strip() for l in done]
                    buf[:] = rest

        seed = start("n1", None)
        port = None

        def seed_port():
            nonlocal port
            for l in lines[seed.stdout.fileno()][1]:
                m = re.match(r"READY port=(\d+)", l)
                if m:
                    port = m.group(1)
            return port is not None

        wait_for(seed_port, "the seed")
        for i in range(2, a.n + 1):
            start(f"n{i}", f"127.0.0.1:{port}")
        want = f"CLUSTER up={a.n}"

        def all_up():
            return all(any(l == want for l in got)
                       for _, got, _ in lines.values())

        t0 = time.time()
        wait_for(all_up, want)
        converged = time.time() - t0
        time.sleep(a.settle)  # joins' dials and handshakes end
        before = {p.pid: cpu_ticks(p.pid) for p in procs}
        by_name = {p.pid: thread_ticks(p.pid) for p in procs}
        t1 = time.time()
        time.sleep(a.window)
        elapsed = time.time() - t1
        cpu = [100.0 * (cpu_ticks(p.pid) - before[p.pid]) / TICK / elapsed
               for p in procs]
        ths = [threads(p.pid) for p in procs]
        share = Counter()
        for p in procs:
            share.update(thread_ticks(p.pid))
            share.subtract(by_name[p.pid])
        counts = [sum(t.values()) for t in ths]
        print(f"nodes={a.n} converged_s={converged:.1f} "
              f"threads/node median={statistics.median(counts)} "
              f"max={max(counts)} idle_cpu%/node "
              f"median={statistics.median(cpu):.2f} "
              f"mean={statistics.mean(cpu):.2f} total={sum(cpu):.1f}")
        print("threads of n1:", dict(sorted(ths[0].items())))
        print("idle cpu%/node by thread:",
              {k: round(100.0 * v / TICK / elapsed / a.n, 3)
               for k, v in sorted(share.items()) if v > 0})
    finally:
        for p in procs:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)
        deadline = time.time() + 10
        for p in procs:
            try:
                p.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()


if __name__ == "__main__":
    main()
