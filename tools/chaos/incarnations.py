# SPDX-License-Identifier: Apache-2.0
"""Who holds each cluster-wide name and persistence id, seen from outside.

During a run the harness samples the cluster's actor tree (`troupe tree
--json`) every few seconds. Each sample lists the running actors of every
node that answered; an actor with a `global_name` holds that name, one with
`persistence.id` is a live incarnation of that persistence id. Two holders
at once (on two nodes, or two actors) are allowed only for a short window:
a node frozen or cut off keeps its copies until it notices and fences
itself, and the cluster moves them meanwhile. A duplicate seen in samples
further apart than the window is an anomaly. Pure functions, tested in
test_incarnations.py.
"""


def holders(tree):
    """`tree`: the JSON of `troupe tree --json`. Returns {("name", n) or
    ("pid", id): set of (node, actor id)} over the running actors of the
    nodes that answered. (A supervisor lists its children on other nodes
    too; only those whose node answered count, each once.)"""
    live = {n.get("name") for n in tree.get("nodes", [])
            if n.get("reachable") and n.get("status") == "up"}
    out = {}
    for node in tree.get("nodes", []):
        for a in node.get("actors", []):
            where = a.get("node", node.get("name"))
            if a.get("status") != "running" or where not in live:
                continue
            keys = []
            if a.get("global_name"):
                keys.append(("name", a["global_name"]))
            pid = (a.get("persistence") or {}).get("id")
            if pid:
                keys.append(("pid", pid))
            for k in keys:
                out.setdefault(k, set()).add((where, a.get("id")))
    return out


def check(samples, window_ms):
    """`samples`: [(t in ms, holders)] in time order. Returns (summary,
    anomalies): a key held twice in one sample is a duplicate; one whose
    duplicate lasts (first to last sample of an unbroken run of duplicate
    samples) longer than `window_ms` is an anomaly."""
    runs = {}  # key -> [first t, last t] of the current run of duplicates
    worst = {}
    seen = 0
    for t, hs in samples:
        dup = {k for k, who in hs.items() if len(who) > 1}
        seen += len(dup)
        for k in dup:
            r = runs.setdefault(k, [t, t])
            r[1] = t
            worst[k] = max(worst.get(k, 0), r[1] - r[0])
        for k in list(runs):
            if k not in dup:
                del runs[k]
    anomalies = [
        f"{kind} '{key}' had two live holders for {ms} ms (window "
        f"{window_ms} ms)" for (kind, key), ms in sorted(worst.items())
        if ms > window_ms]
    summary = {"samples": len(samples), "duplicates_seen": seen,
               "longest_duplicate_ms": max(worst.values(), default=0)}
    return summary, anomalies
