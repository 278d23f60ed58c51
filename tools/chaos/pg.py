# SPDX-License-Identifier: Apache-2.0
"""The chaos harness's own PostgreSQL server, for the nodes' journal and
the `pgrestart` fault: initdb into the run's output directory, listening
on a Unix socket there only (no TCP), run as the `postgres` user when the
harness is root (as tests/runtime/persistence/postgres_server.cpp does).
A path-based Unix socket is reached from every network namespace.
"""

import glob
import os
import pwd
import shutil
import signal
import subprocess
import time

PORT = 5432  # names the socket file only (.s.PGSQL.5432): no TCP


def bin_dir():
    """The newest /usr/lib/postgresql/*/bin with initdb and postgres (or
    $TROUPE_PG_BINDIR), or None."""
    env = os.environ.get("TROUPE_PG_BINDIR")
    dirs = [env] if env else sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda d: int(d.split("/")[-2]) if d.split("/")[-2].isdigit()
        else -1, reverse=True)
    for d in dirs:
        if all(os.access(os.path.join(d, b), os.X_OK)
               for b in ("initdb", "postgres", "pg_isready", "createdb")):
            return d
    return None


def available():
    """None when a server can be started here, else why not."""
    if bin_dir() is None:
        return ("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin "
                "(apt-get install postgresql)")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, but there is no 'postgres' user"
    return None


class Server:
    def __init__(self, out_dir):
        self.bin = bin_dir()
        self.dir = os.path.join(out_dir, "pg")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")
        self.popen = None
        self.user = None
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            self.user = (pw.pw_uid, pw.pw_gid)

    def location(self):
        """The journal location for the nodes (libpq URI, socket dir)."""
        return f"postgresql://troupe@/troupe?host={self.dir}&port={PORT}"

    def _run(self, argv, **kw):
        extra = {}
        if self.user:
            extra = {"user": self.user[0], "group": self.user[1],
                     "extra_groups": []}
        return subprocess.Popen(argv, cwd=self.dir, stdin=subprocess.DEVNULL,
                                **extra, **kw)

    def setup(self):
        """initdb, start, create the database; raises RuntimeError."""
        if os.path.exists(self.dir):
            shutil.rmtree(self.dir)
        os.makedirs(self.dir, mode=0o700)
        if self.user:
            os.chown(self.dir, *self.user)
        with open(self.log, "a") as log:
            if self.user:
                os.chown(self.log, *self.user)
            p = self._run([os.path.join(self.bin, "initdb"), "-D", self.data,
                           "-A", "trust", "-U", "troupe", "-E", "UTF8",
                           "--locale=C", "--no-sync", "--no-instructions"],
                          stdout=log, stderr=subprocess.STDOUT)
            try:
                code = p.wait(120)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                code = "a timeout (120 s)"
        if code != 0:
            raise RuntimeError(f"initdb failed with {code}: {self.tail()}")
        self.start()
        res = subprocess.run([os.path.join(self.bin, "createdb"), "-h",
                              self.dir, "-p", str(PORT), "-U", "troupe",
                              "troupe"], capture_output=True, text=True,
                             timeout=60)
        if res.returncode != 0:
            raise RuntimeError(f"createdb failed: {res.stderr.strip()}")

    def start(self, timeout=60):
        """Starts the postmaster and waits until it accepts connections.
        After a kill -9 the old backends may hold the shared memory a
        moment: the start is tried again until `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            with open(self.log, "a") as log:
                self.popen = self._run(
                    [os.path.join(self.bin, "postgres"), "-D", self.data,
                     "-p", str(PORT), "-k", self.dir, "-c",
                     "listen_addresses=", "-c", "fsync=off"],
                    stdout=log, stderr=subprocess.STDOUT)
            while time.monotonic() < deadline and self.popen.poll() is None:
                if self.ready():
                    return
                time.sleep(0.1)
            if self.popen.poll() is None:
                self.stop()
                raise RuntimeError(f"postgres not ready after {timeout} s: "
                                   f"{self.tail()}")
            if time.monotonic() >= deadline:
                raise RuntimeError(f"postgres did not start within {timeout} "
                                   f"s: {self.tail()}")
            time.sleep(0.5)

    def ready(self):
        res = subprocess.run([os.path.join(self.bin, "pg_isready"), "-q", "-h",
                              self.dir, "-p", str(PORT)], timeout=30)
        return res.returncode == 0

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def kill(self):
        """SIGKILL of the postmaster (its backends notice and exit)."""
        if self.alive():
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(30)

    def stop(self):
        """Fast shutdown (SIGINT: transactions aborted, clients
        disconnected); SIGKILL after 30 s. Returns whether it stopped
        in time."""
        if not self.alive():
            return True
        self.popen.send_signal(signal.SIGINT)
        try:
            self.popen.wait(30)
            return True
        except subprocess.TimeoutExpired:
            self.kill()
            return False

    def tail(self, lines=15):
        try:
            with open(self.log, errors="replace") as f:
                return "\n  " + "\n  ".join(f.read().splitlines()[-lines:])
        except OSError:
            return "(no server log)"
