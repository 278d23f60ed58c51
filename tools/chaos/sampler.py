# SPDX-License-Identifier: Apache-2.0
"""Samples who holds each cluster-wide name and persistence id while a
chaos run goes on: a thread asks one node after another (round robin, so a
frozen node costs one timeout and not the run) for the cluster's tree, and
keeps `incarnations.holders` of each answer with its time."""

import json
import subprocess
import threading
import time

import incarnations


class Sampler:
    def __init__(self, tree_of, endpoints, every_s=2.0, timeout_s=3):
        """`tree_of(endpoint, timeout_s)`: runs `troupe tree ENDPOINT
        --json` and returns its CompletedProcess; `endpoints()`: the nodes'
        current `host:port` (they change when a node restarts)."""
        self.tree_of = tree_of
        self.endpoints = endpoints
        self.every_s = every_s
        self.timeout_s = timeout_s
        self.samples = []  # [(t in ms, holders)]
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join(self.timeout_s * 3 + 10)

    def _run(self):
        turn = 0
        while not self._stop.wait(self.every_s):
            eps = self.endpoints()
            if not eps:
                continue
            ep = eps[turn % len(eps)]
            turn += 1
            try:
                res = self.tree_of(ep, self.timeout_s)
                tree = json.loads(res.stdout) if res.returncode == 0 else None
            except (subprocess.TimeoutExpired, ValueError, OSError):
                tree = None
            if tree is None:
                self.failed += 1
                continue
            self.samples.append((int(time.time() * 1000),
                                 incarnations.holders(tree)))
