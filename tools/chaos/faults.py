# SPDX-License-Identifier: Apache-2.0
"""The chaos harness's fault kinds: how each is injected and ended, and
the schedule that picks them. Each `inject` ends its fault (restart, heal,
SIGCONT...) before it returns and records it on the cluster.

  kill       SIGKILL, a restart on the same port 1-3 s later (the seed too)
  stop       SIGSTOP for 2-6 s, then SIGCONT
  starve     the node shares one CPU with busy processes for 4-8 s
  leave      SIGTERM (a graceful leave), then a restart
  partition  the node cut off from the others and the client for 3-10 s
             (network namespaces: --netns)
  slow       the node's link slow and lossy for 5-15 s (netem when the
             kernel has it, else a tbf token bucket; --netns)
  pgrestart  the PostgreSQL server of the journal restarted, fast or by
             kill -9 of the postmaster, down 1-4 s (--postgres)
"""

import os
import signal
import subprocess
import sys
import time

BASIC = ["kill", "stop", "starve", "leave"]
NETWORK = ["partition", "slow"]
POSTGRES = ["pgrestart"]
ALL = BASIC + NETWORK + POSTGRES


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


def inject(c, kind, i, rng):
    """Injects fault `kind` on node `i` of cluster `c` and ends it."""
    node = c.nodes[i]
    t0 = c.now_ms()
    if kind == "kill":
        node.signal(signal.SIGKILL)
        node.wait_exit(10)
        time.sleep(rng.uniform(1, 3))
        ok = c.start_node(node)
        return c.record(kind, node.name, t0, restarted=ok)
    if kind == "leave":
        node.signal(signal.SIGTERM)
        code = node.wait_exit(30)
        if code is None:
            c.unexpected_exits.append(f"{node.name} did not stop within 30 s "
                                      "of SIGTERM")
            node.signal(signal.SIGKILL)
            node.wait_exit(10)
        ok = c.start_node(node)
        return c.record(kind, node.name, t0, exit=code, restarted=ok)
    if kind == "stop":
        secs = rng.uniform(2, 6)
        node.signal(signal.SIGSTOP)
        time.sleep(secs)
        node.signal(signal.SIGCONT)
        return c.record(kind, node.name, t0, seconds=round(secs, 1))
    if kind == "starve":
        secs = rng.uniform(4, 8)
        starve(c, node, secs)
        return c.record(kind, node.name, t0, seconds=round(secs, 1))
    if kind == "partition":
        secs = rng.uniform(3, 10)
        c.net.cut(i)
        try:
            time.sleep(secs)
        finally:
            c.net.heal(i)
        return c.record(kind, node.name, t0, seconds=round(secs, 1))
    if kind == "slow":
        secs = rng.uniform(5, 15)
        try:
            what = c.net.slow(i, rng)
            time.sleep(secs)
        finally:
            c.net.unslow(i)
        return c.record(kind, node.name, t0, seconds=round(secs, 1), **what)
    if kind == "pgrestart":
        how = rng.choice(["fast", "kill"])
        down = rng.uniform(1, 4)
        if how == "fast":
            c.pg.stop()
        else:
            c.pg.kill()
        time.sleep(down)
        ok = True
        try:
            c.pg.start()
        except RuntimeError as e:
            ok = False
            c.unexpected_exits.append(f"postgres did not start again: {e}")
        return c.record(kind, "pg", t0, how=how, down_s=round(down, 1),
                        restarted=ok)
    raise ValueError(kind)


def starve(c, node, secs):
    """The node's threads on one CPU, at the lowest priority, with three
    busy processes, for `secs`."""
    cpu = {sorted(os.sched_getaffinity(0))[0]}
    pid = node.popen.pid
    before = os.sched_getaffinity(pid)
    for _ in range(3):
        b = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        os.sched_setaffinity(b.pid, cpu)
        c.burners.append(b)
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), cpu)
            os.setpriority(os.PRIO_PROCESS, int(tid), 19)
        except OSError:
            pass
    time.sleep(secs)
    c.stop_burners()
    for tid in os.listdir(f"/proc/{pid}/task") if node.alive() else []:
        try:
            os.sched_setaffinity(int(tid), before)
            os.setpriority(os.PRIO_PROCESS, int(tid), 0)
        except OSError:
            pass
