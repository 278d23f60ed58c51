# SPDX-License-Identifier: Apache-2.0
"""The checker on made-up histories: each anomaly it must find, and clean
histories it must pass (python3 -m unittest test_checker)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checker  # noqa: E402


def h_start(*balances, t=0):
    return [{"p": "start", "a": a, "v": v, "t": t}
            for a, v in enumerate(balances)]


def h_final(*balances, t=10_000):
    return [{"p": "final", "a": a, "v": v, "t": t}
            for a, v in enumerate(balances)]


def transfer(client, seq, src, dst, x, t, withdraw="ok", deposit="ok"):
    """A withdrawal from `src` (operation `seq`) and, if it was applied, a
    deposit into `dst` (operation `seq + 1`), with their outcomes."""
    out = [{"p": "invoke", "c": client, "s": seq, "k": "withdraw", "a": src,
            "x": x, "t": t},
           {"p": withdraw, "c": client, "s": seq, "t": t + 5}]
    if withdraw == "ok":
        out += [{"p": "invoke", "c": client, "s": seq + 1, "k": "deposit",
                 "a": dst, "x": x, "t": t + 6}]
        if deposit is not None:
            out += [{"p": deposit, "c": client, "s": seq + 1, "t": t + 10}]
    return out


class Money(unittest.TestCase):
    def test_a_clean_history_passes(self):
        h = (h_start(100, 100) + transfer("c", 1, 0, 1, 30, 100)
             + transfer("c", 3, 1, 0, 5, 200) + h_final(75, 125))
        findings, anomalies = checker.check_money(h)
        self.assertEqual(anomalies, [])
        self.assertEqual(findings["operations"]["ok"], 4)
        self.assertEqual(findings["money_lost"], 0)

    def test_an_acknowledged_deposit_that_is_missing_is_lost_money(self):
        h = h_start(100, 100) + transfer("c", 1, 0, 1, 30, 100) + h_final(70, 100)
        findings, anomalies = checker.check_money(h)
        self.assertEqual(findings["money_lost"], 30)
        self.assertTrue(any("account 1" in a and "lost" in a for a in anomalies),
                        anomalies)
        self.assertTrue(any("not conserved" in a for a in anomalies), anomalies)

    def test_an_operation_applied_twice_is_made_up_money(self):
        h = h_start(100, 100) + transfer("c", 1, 0, 1, 30, 100) + h_final(70, 160)
        findings, anomalies = checker.check_money(h)
        self.assertEqual(findings["money_made_up"], 30)
        self.assertTrue(any("made up" in a for a in anomalies), anomalies)

    def test_an_unknown_outcome_may_go_either_way(self):
        for final in ((70, 130), (70, 100)):
            h = (h_start(100, 100)
                 + transfer("c", 1, 0, 1, 30, 100, deposit="unknown")
                 + h_final(*final))
            findings, anomalies = checker.check_money(h)
            self.assertEqual(findings["in_flight"], 30)
            balance_anomalies = [a for a in anomalies if "account" in a]
            self.assertEqual(balance_anomalies, [], final)

    def test_a_refused_withdrawal_changes_nothing(self):
        h = (h_start(10, 0) + transfer("c", 1, 0, 1, 30, 100, withdraw="fail")
             + h_final(10, 0))
        _, anomalies = checker.check_money(h)
        self.assertEqual(anomalies, [])

    def test_a_balance_not_read_at_the_end_is_an_anomaly(self):
        h = h_start(100, 100) + h_final(100)
        _, anomalies = checker.check_money(h)
        self.assertTrue(any("not read at the end" in a for a in anomalies))


class Recovery(unittest.TestCase):
    def test_time_until_every_account_answered_after_the_fault(self):
        h = (h_start(100, 100) + transfer("c", 1, 0, 1, 1, 1000)
             + transfer("c", 3, 1, 0, 1, 4000) + [{"p": "quiet", "t": 9000}])
        faults = [{"t": 500, "end": 900, "kind": "kill", "node": "n2"}]
        summary, anomalies = checker.check_recovery(h, faults, 30_000)
        self.assertEqual(anomalies, [])
        # account 1 first answered (the deposit) at 1010, account 0 at 1005
        self.assertEqual(summary["kill"]["max_ms"], 1010 - 900)

    def test_an_account_that_never_answers_again_is_an_anomaly(self):
        h = h_start(100, 100) + transfer("c", 1, 0, 0, 1, 1000)[:2]
        h += [{"p": "quiet", "t": 9000}]
        faults = [{"t": 500, "end": 900, "kind": "stop", "node": "n3"}]
        _, anomalies = checker.check_recovery(h, faults, 30_000)
        self.assertTrue(any("never answered" in a for a in anomalies))

    def test_the_balance_read_at_the_end_is_an_answer(self):
        h = h_start(100, 100) + transfer("c", 1, 0, 0, 1, 1000)[:2]
        h += [{"p": "quiet", "t": 9000}] + h_final(99, 100, t=9500)
        faults = [{"t": 500, "end": 900, "kind": "stop", "node": "n3"}]
        summary, anomalies = checker.check_recovery(h, faults, 30_000)
        self.assertEqual(anomalies, [])
        self.assertEqual(summary["stop"]["max_ms"], 9500 - 900)

    def test_a_slow_recovery_is_an_anomaly(self):
        h = h_start(100) + transfer("c", 1, 0, 0, 1, 50_000)[:2]
        h += [{"p": "quiet", "t": 90_000}]
        faults = [{"t": 500, "end": 900, "kind": "kill", "node": "n1"}]
        _, anomalies = checker.check_recovery(h, faults, 30_000)
        self.assertTrue(any("bound 30000 ms" in a for a in anomalies), anomalies)


class Logs(unittest.TestCase):
    def test_crash_signs_and_names_held_twice(self):
        logs = {"n1": "ok\nterminate called after throwing an instance\n",
                "n2": "[warning] cluster name 'bank.account-1' was registered "
                      "twice; the other registration wins\n",
                "n3": "all fine\n"}
        findings, anomalies = checker.check_logs(logs)
        self.assertEqual(findings["names_registered_twice"], 1)
        self.assertEqual(len(anomalies), 2)

    def test_clean_logs_pass(self):
        _, anomalies = checker.check_logs({"n1": "member 'n2' is up\n"})
        self.assertEqual(anomalies, [])


class Views(unittest.TestCase):
    def test_one_view_everywhere_passes(self):
        v = {("n1", 1), ("n2", 1)}
        self.assertEqual(checker.check_views({"n1": v, "n2": set(v)}), [])

    def test_a_split_is_an_anomaly(self):
        views = {"n1": {("n1", 2)}, "n2": {("n2", 1), ("n3", 1)},
                 "n3": {("n2", 1), ("n3", 1)}}
        anomalies = checker.check_views(views)
        self.assertTrue(any("differ" in a for a in anomalies), anomalies)
        self.assertTrue(any("n1 does not see" in a for a in anomalies))

    def test_a_node_that_does_not_answer_is_an_anomaly(self):
        anomalies = checker.check_views({"n1": {("n1", 1)}, "n2": None})
        self.assertTrue(any("n2 did not answer" in a for a in anomalies))


class Convergence(unittest.TestCase):
    def check(self, kind, took, views=None):
        c = {"kind": kind, "node": "n2", "t": 1000, "end": 2000,
             "converged_ms": took}
        if views is not None:
            c["views"] = views
        return c

    def test_one_view_within_the_bound_after_each_fault_passes(self):
        checks = [self.check("partition", 1200), self.check("partition", 3400),
                  self.check("kill", 800)]
        summary, anomalies = checker.check_convergence(checks, 30_000)
        self.assertEqual(anomalies, [])
        self.assertEqual(summary["partition"],
                         {"n": 2, "converged": 2, "p50_ms": 3400,
                          "max_ms": 3400})
        self.assertEqual(summary["kill"]["converged"], 1)

    def test_views_that_never_agree_after_a_heal_are_an_anomaly(self):
        views = {"n1": ["n1#1"], "n2": ["n1#1", "n2#1"]}
        checks = [self.check("partition", None, views),
                  self.check("kill", 500)]
        summary, anomalies = checker.check_convergence(checks, 30_000)
        self.assertEqual(len(anomalies), 1, anomalies)
        self.assertIn("partition of n2 at 1000", anomalies[0])
        self.assertIn("not within 30000 ms", anomalies[0])
        self.assertIn("n1#1", anomalies[0])
        self.assertEqual(summary["partition"],
                         {"n": 1, "converged": 0, "p50_ms": None,
                          "max_ms": None})

    def test_views_that_agree_only_after_the_bound_are_an_anomaly(self):
        _, anomalies = checker.check_convergence(
            [self.check("slow", 31_500)], 30_000)
        self.assertEqual(len(anomalies), 1)
        self.assertIn("only after 31500 ms", anomalies[0])


if __name__ == "__main__":
    unittest.main()
