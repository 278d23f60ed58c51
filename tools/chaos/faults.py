# SPDX-License-Identifier: Apache-2.0
"""The chaos harness's fault kinds: which can run here (setting up the
namespaces and the PostgreSQL server they need), how each is injected and
ended, and the schedule that picks them. Each `inject` ends its fault (restart, heal,
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

import netns
import pg

BASIC = ["kill", "stop", "starve", "leave"]
NETWORK = ["partition", "slow"]
POSTGRES = ["pgrestart"]
ALL = BASIC + NETWORK + POSTGRES


def usable(args, say):
    """The fault kinds asked for that can run here, after setting up
    --netns and --postgres; says what is skipped and why. Returns
    (kinds, Net or None, pg.Server or None)."""
    kinds = list(args.faults)
    net = server = None
    net_kinds = [k for k in kinds if k in NETWORK]
    if args.netns:
        why = netns.available()
        if why is None:
            for name in netns.stale():
                say(f"warning: network namespace {name} is left from a run "
                    "that is gone (ip netns del it)")
            net = netns.Net(args.nodes)
            try:
                net.setup()
            except RuntimeError as e:
                why, net = f"cannot set up the namespaces: {e}", None
        if why is not None:
            say(f"skipped: network faults ({', '.join(net_kinds) or 'none'}) "
                f"and namespaces: {why}; the nodes run on 127.0.0.1")
    elif net_kinds:
        say(f"skipped: {', '.join(net_kinds)}: needs --netns")
    if net is None:
        kinds = [k for k in kinds if k not in NETWORK]
    else:
        say(f"network namespaces {net.hub} (client, tool; bridge "
            f"{net.hub_host()}) and {', '.join(net.ns)} (nodes "
            f"{net.host(0)}...); slow links by {net.mechanism}")
    try:
        kinds, server = _postgres(args, say, kinds)
    except BaseException:
        if net is not None:
            net.close()  # the caller never sees it: removed here
        raise
    return kinds, net, server


def _postgres(args, say, kinds):
    server = None
    if args.postgres:
        why = pg.available()
        if why is None:
            server = pg.Server(args.out)
            try:
                server.setup()
                args.journal = server.location()
                say(f"journal on the harness's PostgreSQL: {args.journal}")
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                server.stop()
                why, server = f"cannot start PostgreSQL: {e}", None
        if why is not None:
            say(f"skipped: pgrestart and the PostgreSQL journal: {why}")
    elif "pgrestart" in kinds:
        say("skipped: pgrestart: needs --postgres")
    if server is None:
        kinds = [k for k in kinds if k != "pgrestart"]
    return kinds, server


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
