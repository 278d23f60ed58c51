# SPDX-License-Identifier: Apache-2.0
"""The checker of a chaos run: pure functions over the run's records.

A history is a list of dicts, one per line the workload wrote (see
examples/bank/history.hpp): `invoke` (client c, operation s, kind k of
account a, amount x), then `ok`, `fail` (certainly not applied) or
`unknown`; `start` and `final` balances per account; `retry` lines.
Faults are dicts with `t` (ms), `kind`, `node` and `end` (ms).

Every function returns findings; the run passes when `anomalies` is empty.
"""

import itertools
import re

# Lines in a node's output that mean a process crashed or misbehaved.
CRASH_PATTERNS = [
    re.compile(p) for p in (
        r"terminate called",
        r"AddressSanitizer",
        r"UndefinedBehaviorSanitizer",
        r"LeakSanitizer",
        r"ThreadSanitizer",
        r"runtime error:",
        r"Segmentation fault",
        r"core dumped",
        r"Assertion .* failed",
    )
]

# A cluster-wide name that two live actors held at once.
NAME_TWICE = re.compile(r"cluster name '([^']+)' was registered twice")


def operations(history):
    """Joins invocations with their completions: a dict (client, seq) ->
    {'kind', 'account', 'amount', 'invoke_t', 'outcome', 'done_t'}; an
    operation without a completion has outcome None (the client died)."""
    ops = {}
    for h in history:
        p = h.get("p")
        if p == "invoke":
            ops[(h["c"], h["s"])] = {
                "kind": h["k"], "account": h["a"], "amount": h["x"],
                "invoke_t": h["t"], "outcome": None, "done_t": None}
        elif p in ("ok", "fail", "unknown"):
            op = ops.get((h["c"], h["s"]))
            if op is not None:
                op["outcome"], op["done_t"] = p, h["t"]
    return ops


def balances(history, phase):
    """Account -> balance from the `phase` lines ('start' or 'final');
    accounts that could not be read are left out."""
    return {h["a"]: h["v"] for h in history
            if h.get("p") == phase and "v" in h}


def delta(op):
    return op["amount"] if op["kind"] == "deposit" else -op["amount"]


def explains(diff, candidates, limit=16):
    """Whether some subset of the `candidates` deltas sums to `diff` (the
    operations whose outcome is unknown may or may not have been applied).
    More than `limit` candidates: not decided (None)."""
    if diff == 0:
        return True
    if len(candidates) > limit:
        return None
    for n in range(1, len(candidates) + 1):
        for combo in itertools.combinations(candidates, n):
            if sum(combo) == diff:
                return True
    return False


def check_money(history):
    """Replays the history against the balances. For each account, the
    final balance must be its start plus every acknowledged operation,
    plus some subset of the unknown ones: an acknowledged operation that
    is missing is lost money, one applied twice is made-up money. The
    total must be conserved by every transfer whose deposit was
    acknowledged. Returns (findings dict, anomaly strings)."""
    anomalies = []
    start, final = balances(history, "start"), balances(history, "final")
    ops = operations(history)
    accounts = sorted(set(start) | set(final))
    for a in accounts:
        if a not in start or a not in final:
            anomalies.append(f"account {a}: balance not read at the "
                             f"{'start' if a not in start else 'end'}")
    counts = {"ok": 0, "fail": 0, "unknown": 0, "open": 0}
    for op in ops.values():
        counts[op["outcome"] or "open"] += 1
    lost = made_up = 0
    for a in accounts:
        if a not in start or a not in final:
            continue
        mine = [op for op in ops.values() if op["account"] == a]
        expected = start[a] + sum(delta(op) for op in mine
                                  if op["outcome"] == "ok")
        diff = final[a] - expected
        maybe = [delta(op) for op in mine if op["outcome"] in (None, "unknown")]
        verdict = explains(diff, maybe)
        if verdict is False:
            if diff < 0:
                lost += -diff
            else:
                made_up += diff
            anomalies.append(
                f"account {a}: balance {final[a]}, but its start {start[a]} "
                f"and acknowledged operations give {expected} "
                f"({'lost' if diff < 0 else 'made up'}: {abs(diff)}; "
                f"{len(maybe)} operations of unknown outcome cannot explain it)")
        elif verdict is None:
            anomalies.append(f"account {a}: {len(maybe)} operations of unknown "
                             "outcome: too many to decide")
    # A transfer: a withdrawal, then the same client's next operation, a
    # deposit of the same amount. Money in flight is a withdrawal whose
    # deposit never completed.
    in_flight = 0
    by_client = {}
    for (c, s), op in ops.items():
        by_client.setdefault(c, {})[s] = op
    for c, seqs in by_client.items():
        for s, op in seqs.items():
            if op["kind"] == "withdraw" and op["outcome"] == "ok":
                dep = seqs.get(s + 1)
                if dep is None or dep["outcome"] != "ok":
                    in_flight += op["amount"]
    total_start = sum(start.values())
    total_final = sum(final.values())
    if len(start) == len(final) and total_final != total_start - in_flight:
        anomalies.append(f"total {total_final} at the end, {total_start} at the "
                         f"start, {in_flight} in unfinished transfers: "
                         f"not conserved")
    findings = {"operations": counts, "accounts": len(accounts),
                "total_start": total_start, "total_final": total_final,
                "in_flight": in_flight, "money_lost": lost,
                "money_made_up": made_up}
    return findings, anomalies


def percentile(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def check_recovery(history, faults, bound_ms):
    """For each fault: how long after it ended until every account had
    answered again (an operation of it completed, applied or refused, or
    its balance was read at the end). Over
    `bound_ms` (or never) is an anomaly. Returns ({kind: [ms...]}, anomaly
    strings)."""
    anomalies = []
    ops = operations(history)
    accounts = set(balances(history, "start"))
    quiet = next((h["t"] for h in history if h.get("p") == "quiet"), None)
    # When each account answered: its completed operations, and the
    # balances read at the end.
    answers = [(op["account"], op["done_t"]) for op in ops.values()
               if op["outcome"] in ("ok", "fail")]
    answers += [(h["a"], h["t"]) for h in history
                if h.get("p") == "final" and "v" in h]
    times = {}
    for f in faults:
        end = f["end"]
        if quiet is not None and end >= quiet:
            continue  # the workload had stopped: nothing to measure
        first = {}
        for a, t in answers:
            if t >= end:
                first[a] = min(first.get(a, t), t)
        missing = accounts - set(first)
        if missing:
            anomalies.append(f"{f['kind']} of {f['node']} at {f['t']}: accounts "
                             f"{sorted(missing)} never answered afterwards")
            continue
        took = max(first.values()) - end
        times.setdefault(f["kind"], []).append(took)
        if took > bound_ms:
            anomalies.append(f"{f['kind']} of {f['node']} at {f['t']}: every "
                             f"account answered only after {took} ms "
                             f"(bound {bound_ms} ms)")
    summary = {k: {"n": len(v), "p50_ms": percentile(v, 0.5),
                   "p90_ms": percentile(v, 0.9), "max_ms": max(v)}
               for k, v in times.items()}
    return summary, anomalies


def check_logs(logs):
    """`logs`: {process name: text}. Crash signs and names held twice."""
    anomalies = []
    twice = 0
    for name, text in sorted(logs.items()):
        for line in text.splitlines():
            if any(p.search(line) for p in CRASH_PATTERNS):
                anomalies.append(f"{name}: {line.strip()}")
            if NAME_TWICE.search(line):
                twice += 1
                anomalies.append(f"{name}: {line.strip()}")
    return {"names_registered_twice": twice}, anomalies


def check_views(views):
    """`views`: {node: set of (member, incarnation) it sees up, or None when
    it did not answer}. One view everywhere, holding every node."""
    anomalies = []
    answered = {n: v for n, v in views.items() if v is not None}
    for n, v in views.items():
        if v is None:
            anomalies.append(f"{n} did not answer for its membership view")
    distinct = {frozenset(v) for v in answered.values()}
    if len(distinct) > 1:
        anomalies.append("membership views differ: " + "; ".join(
            f"{n} sees {sorted(m for m, _ in v)}"
            for n, v in sorted(answered.items())))
    for n, v in answered.items():
        missing = set(views) - {m for m, _ in v}
        if missing:
            anomalies.append(f"{n} does not see {sorted(missing)} up")
    return anomalies


def check_convergence(checks, bound_ms):
    """`checks`: one dict per fault, as the harness watched the membership
    views after it ended: `kind`, `node`, `t` (ms), and `converged_ms`,
    how long after its end every node answered with one view holding
    every node (None: not within the bound; then `views`, the last ones
    seen). Each fault must be followed by one view within `bound_ms`.
    Returns ({kind: {n, converged, p50_ms, max_ms}}, anomaly strings)."""
    anomalies = []
    times = {}
    for c in checks:
        took = c.get("converged_ms")
        per = times.setdefault(c["kind"], {"n": 0, "ok": []})
        per["n"] += 1
        if took is not None and took <= bound_ms:
            per["ok"].append(took)
            continue
        what = (f"only after {took} ms" if took is not None else
                f"not within {bound_ms} ms (last views: {c.get('views')})")
        anomalies.append(f"{c['kind']} of {c['node']} at {c['t']}: the "
                         f"membership views agreed {what}")
    summary = {k: {"n": v["n"], "converged": len(v["ok"]),
                   "p50_ms": percentile(v["ok"], 0.5),
                   "max_ms": max(v["ok"]) if v["ok"] else None}
               for k, v in times.items()}
    return summary, anomalies
