# SPDX-License-Identifier: Apache-2.0
"""The chaos harness's network: one network namespace per node and a hub
namespace whose bridge joins them, so that a node can be cut off
(`partition`) or given a slow, lossy link (`slow`).

Everything is named `troupe-chaos-<pid>-...` and removed by `close()`
(the harness calls it in a `finally`, also on SIGINT/SIGTERM). Addresses
come from one private /24, 10.213.N.0/24 with N drawn from the harness's
pid; they exist only inside the namespaces made here: node i (from 1) is
10.213.N.i, the hub's bridge 10.213.N.254. Inside each namespace the
interface names are private (`br0`, `v<i>` on the hub side, `eth0` on the
node side), so concurrent runs do not clash.

Needs root and `ip netns`; `available()` says why not otherwise.
"""

import os
import subprocess

PREFIX = "troupe-chaos"


def _ip(*args, check=True):
    res = subprocess.run(["ip"] + list(args), capture_output=True, text=True,
                         timeout=30)
    if check and res.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: "
                           f"{(res.stderr or res.stdout).strip()}")
    return res


def available():
    """None when namespaces can be made here, else why not."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    probe = f"{PREFIX}-{os.getpid()}-probe"
    try:
        _ip("netns", "add", probe)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as e:
        return f"cannot create a network namespace ({e})"
    try:
        _ip("-n", probe, "link", "add", "br0", "type", "bridge")
    except RuntimeError as e:
        return f"cannot create a bridge in a network namespace ({e})"
    finally:
        _ip("netns", "del", probe, check=False)
    return None


def stale():
    """Namespaces of this harness whose run is gone (killed before it
    could clean up): their names, for a warning."""
    res = _ip("netns", "list", check=False)
    out = []
    for line in res.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        parts = name.split("-")
        if name.startswith(PREFIX + "-") and len(parts) >= 4 \
                and parts[2].isdigit() and not os.path.exists(
                    f"/proc/{parts[2]}"):
            out.append(name)
    return out


class Net:
    """The namespaces, the bridge and the links of one run."""

    def __init__(self, nodes):
        pid = os.getpid()
        self.subnet = f"10.213.{pid % 250 + 1}"
        self.hub = f"{PREFIX}-{pid}-hub"
        self.ns = [f"{PREFIX}-{pid}-n{i + 1}" for i in range(nodes)]
        self.made = []
        self.mechanism = None  # of `slow`: "netem" or "tbf"

    def hub_host(self):
        return f"{self.subnet}.254"

    def host(self, i):
        return f"{self.subnet}.{i + 1}"

    def exec_argv(self, ns, argv):
        """`argv` run in namespace `ns`. `ip netns exec` execs the command
        (it does not fork), so the PID of the process started is the
        command's."""
        return ["ip", "netns", "exec", ns] + list(argv)

    def on_hub(self, argv):
        return self.exec_argv(self.hub, argv)

    def on_node(self, i, argv):
        return self.exec_argv(self.ns[i], argv)

    def setup(self):
        """Makes the namespaces and links; raises RuntimeError (after
        removing what it made) when one step fails."""
        try:
            for ns in [self.hub] + self.ns:
                _ip("netns", "add", ns)
                self.made.append(ns)
                _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", self.hub, "link", "add", "br0", "type", "bridge")
            _ip("-n", self.hub, "addr", "add", f"{self.hub_host()}/24", "dev",
                "br0")
            _ip("-n", self.hub, "link", "set", "br0", "up")
            for i, ns in enumerate(self.ns):
                v = f"v{i + 1}"
                _ip("-n", self.hub, "link", "add", v, "type", "veth", "peer",
                    "name", "eth0", "netns", ns)
                _ip("-n", self.hub, "link", "set", v, "master", "br0")
                _ip("-n", self.hub, "link", "set", v, "up")
                _ip("-n", ns, "addr", "add", f"{self.host(i)}/24", "dev",
                    "eth0")
                _ip("-n", ns, "link", "set", "eth0", "up")
            self.mechanism = self._probe_netem()
        except Exception:
            self.close()
            raise

    def _probe_netem(self):
        """netem when the kernel has it, else tbf (a token bucket: a low
        rate and a short queue, so that excess packets are dropped)."""
        res = self._tc(self.ns[0], "qdisc", "add", "dev", "eth0", "root",
                       "netem", "delay", "1ms", check=False)
        if res.returncode != 0:
            return "tbf"
        self._tc(self.ns[0], "qdisc", "del", "dev", "eth0", "root",
                 check=False)
        return "netem"

    def _tc(self, ns, *args, check=True):
        res = subprocess.run(self.exec_argv(ns, ["tc"] + list(args)),
                             capture_output=True, text=True, timeout=30)
        if check and res.returncode != 0:
            raise RuntimeError(f"tc {' '.join(args)} in {ns}: "
                               f"{(res.stderr or res.stdout).strip()}")
        return res

    # -- faults -----------------------------------------------------------

    def cut(self, i):
        """Cuts node i off the bridge (its link down on the hub side):
        the others and the client can no longer reach it, nor it them."""
        _ip("-n", self.hub, "link", "set", f"v{i + 1}", "down")

    def heal(self, i):
        _ip("-n", self.hub, "link", "set", f"v{i + 1}", "up")

    def slow(self, i, rng):
        """Both directions of node i's link made slow and lossy; returns
        what was set, for the report."""
        if self.mechanism == "netem":
            delay, loss = rng.randrange(50, 300), rng.randrange(2, 20)
            spec = ["netem", "delay", f"{delay}ms", f"{delay // 3}ms", "loss",
                    f"{loss}%"]
            what = {"mechanism": "netem", "delay_ms": delay, "loss_pct": loss}
        else:
            rate = rng.randrange(200, 500)
            spec = ["tbf", "rate", f"{rate}kbit", "burst", "4kb", "latency",
                    "50ms"]
            what = {"mechanism": "tbf", "rate_kbit": rate, "burst": "4kb",
                    "latency_ms": 50}
        self._tc(self.ns[i], "qdisc", "add", "dev", "eth0", "root", *spec)
        self._tc(self.hub, "qdisc", "add", "dev", f"v{i + 1}", "root", *spec)
        return what

    def unslow(self, i):
        self._tc(self.ns[i], "qdisc", "del", "dev", "eth0", "root",
                 check=False)
        self._tc(self.hub, "qdisc", "del", "dev", f"v{i + 1}", "root",
                 check=False)

    def close(self):
        """Removes every namespace made (their links go with them);
        returns the errors, if any."""
        errors = []
        for ns in reversed(self.made):
            res = _ip("netns", "del", ns, check=False)
            if res.returncode != 0:
                errors.append(f"cannot remove namespace {ns}: "
                              f"{res.stderr.strip()}")
        self.made = []
        return errors
