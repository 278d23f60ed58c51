#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The dashboard in a real browser (issue 21): headless Chromium, driven by
Selenium through chromedriver, against a 3-node cluster this test starts on
127.0.0.1 (OS-chosen ports) and stops.

It asserts, without ever reloading the page:
  - the tree shows every node's supervision tree;
  - a `troupe kill --mode throw` shows up as a restart with its reason
    within 2 s, and the actor's page lists the failure with what its
    supervisor decided;
  - an action without the token is refused (401), with a wrong one too
    (403), and with the right one it is done, on another member's actor
    too (forwarded to it);
  - a kill -9 of a node shows on the members' timeline as a down, with the
    time it took to detect;
  - the flows view shows the messages per second on a live link;
  - the members view and an actor's page draw the server's history, from
    before the page was loaded;
  - a supervisor that does not list its children in time (n1's
    /root/stuck once `troupe kill` respawned it) is marked in the tree
    and in `troupe tree`, not shown as childless.
Screenshots of every view go to --out (test artefacts); so do the nodes'
logs. Exit 0: passed; 1: failed; 77: Chromium, chromedriver or Selenium
missing (ctest reports the test as skipped).
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    print("SKIP: python3-selenium is not installed (tools/dev test installs it)")
    sys.exit(77)

LOOPBACK = "127.0.0.1"
TOKEN = "s3cret-for-the-browser-test"


class Node:
    """One troupe_dashboard_node process; its output goes to a log file."""

    def __init__(self, binary, name, out_dir, seed=None, dashboard=False,
                 extra=()):
        self.name = name
        self.log_path = os.path.join(out_dir, f"{name}.log")
        argv = [binary, "--name", name, "--host", LOOPBACK, "--port", "0"]
        if seed:
            argv += ["--seeds", seed]
        if dashboard:
            argv += ["--http-port", "0", "--http-token", TOKEN]
        argv += list(extra)
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)

    def wait_line(self, pattern, timeout):
        """The first match of `pattern` in the output, or None after
        `timeout` s (or when the process ends)."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.log_path) as f:
                m = rx.search(f.read())
            if m:
                return m
            if self.proc.poll() is not None:
                return None
            time.sleep(0.02)  # polling the log for a printed line
        return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as res:
        return json.load(res)


def wait_for(what, pred, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def browser(profile_dir):
    for path in ("/usr/bin/chromium", "/usr/bin/chromedriver"):
        if not os.path.exists(path):
            print(f"SKIP: {path} is missing (tools/dev test installs "
                  "chromium and chromium-driver)")
            sys.exit(77)
    opts = Options()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--window-size=1400,900",
                f"--user-data-dir={profile_dir}"):
        opts.add_argument(arg)
    service = Service("/usr/bin/chromedriver",
                      log_output=os.path.join(os.path.dirname(profile_dir),
                                              "chromedriver.log"))
    return webdriver.Chrome(service=service, options=opts)


# The page re-renders its views on every update, so an element found a
# moment ago may be gone: reads and clicks go through one script each.
def row(driver, key):
    """The texts of the tree row of actor `key`, or None."""
    return driver.execute_script(
        "const r = document.querySelector('.row[data-actor=\"' +"
        " CSS.escape(arguments[0]) + '\"]');"
        "return r ? [...r.children].map((c) => c.textContent) : null;", key)


def click_row(driver, key):
    driver.execute_script(
        "document.querySelector('.row[data-actor=\"' +"
        " CSS.escape(arguments[0]) + '\"]').click();", key)


def table_rows(driver, css):
    """The cells' texts of every row of the table `css` but its head."""
    return driver.execute_script(
        "const t = document.querySelector(arguments[0]);"
        "return t ? [...t.rows].slice(1).map("
        "(r) => [...r.cells].map((c) => c.textContent)) : [];", css)


def spark(driver, css):
    """{points, first_ms, page_ms} of the sparkline `css`: how many
    points it draws, the time of its first, and when the page loaded (all
    Unix ms); None when it is not there."""
    return driver.execute_script(
        "const e = document.querySelector(arguments[0]);"
        "return e ? {points: +e.dataset.points,"
        " first_ms: +(e.dataset.firstMs || 0),"
        " page_ms: performance.timeOrigin} : null;", css)


def load(driver, url):
    """A new load of `url` (only its hash may differ from the page's, and
    that alone would not load it again)."""
    driver.get("about:blank")
    driver.get(url)


def from_before_load(x):
    return (x is not None and x["points"] >= 3 and x["first_ms"] > 0
            and x["first_ms"] < x["page_ms"] - 1000)


def text_of(driver, css):
    return driver.execute_script(
        "const e = document.querySelector(arguments[0]);"
        "return e ? e.textContent : null;", css)


def run(args):
    os.makedirs(args.out, exist_ok=True)
    nodes = []
    driver = None
    # Chromium's profile, removed with everything in it at the end.
    profile = tempfile.TemporaryDirectory(prefix="chromium-", dir=args.out)
    try:
        n1 = Node(args.node, "n1", args.out, dashboard=True,
                  extra=["stuck=1"])
        nodes.append(n1)
        ready = n1.wait_line(r"READY port=(\d+)", 30)
        assert ready, "n1 did not start"
        seed = f"{LOOPBACK}:{ready.group(1)}"
        url = n1.wait_line(r"serves its dashboard on (http://\S+/)", 5)
        assert url, "n1 did not say where its dashboard is"
        url = url.group(1)
        ports = {"n1": ready.group(1)}
        for name in ("n2", "n3"):
            n = Node(args.node, name, args.out, seed=seed)
            nodes.append(n)
        for n in nodes[1:]:
            m = n.wait_line(r"READY port=(\d+)", 30)
            assert m, f"{n.name} did not start"
            ports[n.name] = m.group(1)

        def formed():
            s = get_json(url + "api/cluster")
            return (len(s["nodes"]) == 3
                    and all(x["reachable"] for x in s["nodes"].values())
                    and all(f"{n}:/root/shop/clerk-3" in s["actors"]
                            for n in ("n1", "n2", "n3")))
        wait_for("three nodes with their trees", formed, 30)

        driver = browser(profile.name)
        driver.get(url)
        driver.execute_script("window.__sameLoad = true;")
        wait = WebDriverWait(driver, 10, poll_frequency=0.05)
        for key in ("n1:/root/shop/clerk-0", "n2:/root/ticker",
                    "n3:/root/shop"):
            wait.until(lambda d: row(d, key) is not None,
                       f"the tree has no row for {key}")
        # Read in one script: the page re-renders as updates come, and an
        # element found in one call can be gone by the next (stale).
        sections = driver.execute_script(
            "return [...document.querySelectorAll('section.node')]"
            ".map((e) => e.getAttribute('data-node'));")
        assert sections == ["n1", "n2", "n3"], sections
        driver.save_screenshot(os.path.join(args.out, "tree.png"))

        # -- troupe kill shows up as a restart, with its reason, in 2 s ----
        victim = "n2:/root/shop/clerk-1"
        subprocess.run([args.tool, "kill", f"{LOOPBACK}:{ports['n2']}",
                        "/root/shop/clerk-1", "--mode", "throw"],
                       check=True, timeout=15, stdout=subprocess.DEVNULL)
        killed = time.monotonic()
        try:
            WebDriverWait(driver, 2, poll_frequency=0.05).until(
                lambda d: (row(d, victim) or [""] * 7)[2] == "1"
                and row(d, victim)[6] != "")
        except TimeoutException:
            raise AssertionError("the kill did not show within 2 s: "
                                 f"{row(driver, victim)}")
        shown_after = time.monotonic() - killed
        reason = row(driver, victim)[6]
        assert driver.execute_script("return window.__sameLoad === true;"), \
            "the page reloaded"
        print(f"troupe kill shown as a restart after {shown_after:.2f} s: "
              f"{reason}")

        click_row(driver, victim)
        wait.until(lambda d: table_rows(d, "table.failures"),
                   "the actor's page lists no failure")
        failures = table_rows(driver, "table.failures")
        assert failures[0][2] == "restart in place", failures
        assert failures[0][1] == reason, (failures, reason)
        driver.save_screenshot(os.path.join(args.out, "actor.png"))

        # -- actions need the token ----------------------------------------
        local = "n1:/root/shop/clerk-2"
        driver.get(url + "#actor=" + local)  # a new load: the token is empty
        wait.until(lambda d: d.find_elements(By.ID, "kill-exit"),
                   "no kill button on a local actor's page")

        def act(token, expect):
            box = driver.find_element(By.ID, "token")
            box.clear()
            if token:
                box.send_keys(token)
            driver.find_element(By.ID, "kill-exit").click()
            wait.until(lambda d: expect in (text_of(d, "#action-result")
                                            or ""),
                       f"the action's result never said '{expect}'")
            return text_of(driver, "#action-result")

        print("without a token:", act("", "refused (401)"))
        print("with a wrong token:", act("wrong", "refused (403)"))
        state = get_json(url + "api/cluster")
        assert state["actors"][local]["restarts"] == 0, "a refused kill acted"
        print("with the token:", act(TOKEN, "killed"))
        wait_for("the killed actor's respawn",
                 lambda: get_json(url + "api/cluster")["actors"][local]
                 ["restarts"] == 1, 5)

        # -- an action on another member's actor, forwarded to it ----------
        remote = "n2:/root/shop/clerk-3"
        load(driver, url + "#actor=" + remote)
        wait.until(lambda d: d.find_elements(By.ID, "kill-exit"),
                   "no kill button on another member's actor's page")
        print("on n2's actor from n1's page:", act(TOKEN, "killed"))
        wait_for("the remote actor's respawn",
                 lambda: get_json(url + "api/cluster")["actors"][remote]
                 ["restarts"] == 1, 5)

        # -- kill -9 of a node shows on the timeline ------------------------
        driver.get(url + "#members")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR,
                                             "table.timeline"),
                   "no timeline")
        nodes[2].proc.send_signal(signal.SIGKILL)
        nodes[2].proc.wait()
        sigkill = time.monotonic()

        def down_row(d):
            for tds in table_rows(d, "table.timeline"):
                if len(tds) == 7 and tds[1] == "n3" and tds[3] == "down":
                    return tds
            return None
        WebDriverWait(driver, 6, poll_frequency=0.05).until(
            down_row, "the kill -9 of n3 never showed on the timeline")
        tds = down_row(driver)
        print(f"kill -9 of n3 on the timeline after "
              f"{time.monotonic() - sigkill:.2f} s: {tds}")
        assert "ms" in tds[5], f"no detection time: {tds}"
        driver.save_screenshot(os.path.join(args.out, "members.png"))
        driver.get(url + "#flows")
        # n1 and n2 still talk: their link carries messages both ways.
        wait.until(lambda d: any(
            r[0] == "n1" and r[1] == "n2" and r[2] not in ("", "0")
            for r in table_rows(d, "table.links")),
            "the flows view shows no traffic from n1 to n2")
        # -- the server's history, from before this page loaded ----------
        node_rate = ".sparks[data-node='n1'] [data-spark='node-msgs_per_sec']"
        load(driver, url + "#members")
        wait.until(lambda d: from_before_load(spark(d, node_rate)),
                   f"no history of n1 from before the page: "
                   f"{spark(driver, node_rate)}")
        print("n1's history on the members view:", spark(driver, node_rate))
        link_rate = "[data-link='n1>n2']"
        load(driver, url + "#flows")
        wait.until(lambda d: from_before_load(spark(d, link_rate)),
                   f"no history of the link n1>n2: {spark(driver, link_rate)}")
        # The ticker is among the busiest: the server keeps its history.
        load(driver, url + "#actor=n1:/root/ticker")
        actor_rate = "[data-spark='actor-rate']"
        wait.until(lambda d: from_before_load(spark(d, actor_rate)),
                   f"no history of n1's ticker: {spark(driver, actor_rate)}")
        print("the ticker's history on its page:", spark(driver, actor_rate))
        driver.save_screenshot(os.path.join(args.out, "history.png"))
        history = get_json(url + "api/history")
        assert len(history["nodes"]["n1"]["ms"]) >= 3, history["nodes"]
        assert "history" in get_json(url + "api/cluster"), \
            "the export has no history"

        for view in ("flows", "top"):
            driver.get(url + "#" + view)
            wait.until(lambda d: d.find_elements(
                By.CSS_SELECTOR, f"#view-{view} table"), f"no {view} view")
            driver.save_screenshot(os.path.join(args.out, f"{view}.png"))
        # -- a supervisor that does not list its children in time ---------
        stuck = "n1:/root/stuck"
        driver.get(url + "#tree")
        wait.until(lambda d: row(d, stuck) is not None, "no /root/stuck")
        assert "not reported" not in row(driver, stuck)[0], row(driver, stuck)
        subprocess.run([args.tool, "kill", f"{LOOPBACK}:{ports['n1']}",
                        "/root/stuck"],
                       check=True, timeout=15, stdout=subprocess.DEVNULL)
        WebDriverWait(driver, 10, poll_frequency=0.05).until(
            lambda d: "children not reported in time"
            in (row(d, stuck) or [""])[0],
            f"/root/stuck is not marked: {row(driver, stuck)}")
        driver.save_screenshot(os.path.join(args.out, "stuck.png"))
        tree = subprocess.run([args.tool, "tree", f"{LOOPBACK}:{ports['n1']}",
                               "--no-color"],
                              check=True, timeout=30, capture_output=True,
                              text=True).stdout
        line = [x for x in tree.splitlines() if "stuck" in x]
        assert line and "children not reported in time" in line[0], tree
        print("troupe tree:", line[0].strip())
        print(f"PASS; screenshots in {args.out}")
        return 0
    except AssertionError as e:
        print(f"FAIL: {e}")
        if driver is not None:
            driver.save_screenshot(os.path.join(args.out, "failure.png"))
        for n in nodes:
            print(f"--- {n.name} log (tail) ---")
            with open(n.log_path) as f:
                print("".join(f.readlines()[-20:]))
        return 1
    finally:
        if driver is not None:
            driver.quit()
        for n in nodes:
            n.stop()
        profile.cleanup()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--node", required=True, help="troupe_dashboard_node")
    p.add_argument("--tool", required=True, help="the troupe tool")
    p.add_argument("--out", required=True, help="screenshots and logs")
    sys.exit(run(p.parse_args()))


if __name__ == "__main__":
    main()
