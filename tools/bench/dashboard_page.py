#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The dashboard's page with 10,000 actors (issue 21: "fast with 10,000
actors"), in headless Chromium: one node with 100 supervisors of 100
workers each (tests/browser's troupe_dashboard_node), the page open on its
tree. Prints, as the other benchmarks' rows (no raw-CAF column: a browser
page has no CAF counterpart):
  - the time from opening the page to the first render of every actor;
  - renders while the page stays open (one per update): count, mean, max;
  - a search's render, a scroll to the end's render;
  - the page's JS heap;
  - the node process's CPU while the page is open against while not
    (% of a core, same window).
bench_dashboard (C++) has the in-process figures: ping-pong with three
views open, the server's CPU and the bytes pushed per second.

usage: tools/bench/dashboard_page.py [--node BIN] [--seconds S]
  BIN defaults to build/tests/browser/troupe_dashboard_node (tools/dev test
  builds it); needs Debian's chromium, chromium-driver, python3-selenium.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def cpu_percent(pid, seconds):
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)  # the measuring window itself
    return (cpu_seconds(pid) - c0) / (time.monotonic() - t0) * 100


def row(name, value, fmt="{:.0f}"):
    print(f"ROW|{name}|{fmt.format(value)}|-|-", flush=True)


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--node", default=os.path.join(
        root, "build/tests/browser/troupe_dashboard_node"))
    p.add_argument("--seconds", type=float, default=10)
    args = p.parse_args()
    work = tempfile.TemporaryDirectory(prefix="dashboard-page-")
    log_path = os.path.join(work.name, "node.log")
    log = open(log_path, "w")
    node = subprocess.Popen([args.node, "--name", "n1", "--host", "127.0.0.1",
                             "--port", "0", "--http-port", "0", "shops=100",
                             "clerks=100"],
                            stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    driver = None
    try:
        url = None
        deadline = time.monotonic() + 30
        while url is None and time.monotonic() < deadline:
            with open(log_path) as f:
                m = re.search(r"serves its dashboard on (http://\S+/)",
                              f.read())
            url = m.group(1) if m else None
            if node.poll() is not None:
                sys.exit(f"the node ended: see {log_path}")
            time.sleep(0.05)
        if url is None:
            sys.exit("the node did not serve its dashboard")
        time.sleep(2)  # the tree starts and settles
        idle = cpu_percent(node.pid, args.seconds)

        opts = Options()
        opts.binary_location = "/usr/bin/chromium"
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
                  "--disable-dev-shm-usage", "--window-size=1400,900",
                  f"--user-data-dir={work.name}/profile"):
            opts.add_argument(a)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"),
                                  options=opts)
        t0 = time.monotonic()
        driver.get(url)
        total = 1 + 100 + 100 * 100 + 1
        WebDriverWait(driver, 60, poll_frequency=0.02).until(
            lambda d: d.execute_script(
                "return typeof troupe !== 'undefined' && troupe.renders.count"
                " > 0 && Object.keys(troupe.state.actors).length >= "
                f"{total};"))
        first = (time.monotonic() - t0) * 1000
        first_render = driver.execute_script("return troupe.renders.last_ms;")
        driver.execute_script(
            "troupe.renders.count = 0; troupe.renders.total_ms = 0;"
            " troupe.renders.max_ms = 0;")
        viewed = cpu_percent(node.pid, args.seconds)
        r = driver.execute_script("return troupe.renders;")
        search = driver.execute_script(
            "const s = document.getElementById('search');"
            "s.value = 'clerk-99'; const t0 = performance.now();"
            "troupe.views.tree.render(document.getElementById('view-tree'));"
            "return performance.now() - t0;")
        scroll = driver.execute_script(
            "const s = document.getElementById('search'); s.value = '';"
            "window.scrollTo(0, document.body.scrollHeight);"
            "const t0 = performance.now();"
            "troupe.views.tree.render(document.getElementById('view-tree'));"
            "return performance.now() - t0;")
        heap = driver.execute_script(
            "return performance.memory ? performance.memory.usedJSHeapSize"
            " : 0;")
        name = f"dashboard page, {total} actors"
        row(f"{name}: open to first render of all [ms]", first)
        row(f"{name}: that first render [ms]", first_render, "{:.1f}")
        row(f"{name}: renders in {args.seconds:.0f} s open", r["count"])
        row(f"{name}: mean render [ms]",
            r["total_ms"] / max(1, r["count"]), "{:.1f}")
        row(f"{name}: longest render [ms]", r["max_ms"], "{:.1f}")
        row(f"{name}: render of a search [ms]", search, "{:.1f}")
        row(f"{name}: render after a scroll to the end [ms]", scroll,
            "{:.1f}")
        row(f"{name}: JS heap [MB]", heap / 1e6, "{:.1f}")
        print(f"ROW|{name}: node CPU with the page open vs not [% of a "
              f"core, lower is better]|{viewed:.1f}|{idle:.1f}|"
              f"{viewed / idle if idle > 0 else 0:.2f}x", flush=True)
        return 0
    finally:
        if driver is not None:
            driver.quit()
        node.send_signal(signal.SIGTERM)
        try:
            node.wait(10)
        except subprocess.TimeoutExpired:
            node.kill()
            node.wait()
        log.close()
        work.cleanup()


if __name__ == "__main__":
    sys.exit(main())
