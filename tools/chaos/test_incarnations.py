# SPDX-License-Identifier: Apache-2.0
"""Two live holders of a name or persistence id in made-up trees: the
check must find those that outlast the window and pass the rest (python3
-m unittest test_incarnations)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import incarnations  # noqa: E402


def actor(node, aid, name="", pid="", status="running"):
    a = {"node": node, "id": aid, "global_name": name, "status": status}
    if pid:
        a["persistence"] = {"id": pid, "epoch": 1}
    return a


def tree(*nodes):
    """`nodes`: (name, reachable, [actors])."""
    return {"answered_by": nodes[0][0],
            "nodes": [{"name": n, "reachable": r, "status": "up" if r
                       else "down", "actors": xs} for n, r, xs in nodes]}


class Holders(unittest.TestCase):
    def test_a_remote_child_listed_by_its_supervisor_counts_once(self):
        t = tree(("n1", True, [actor("n2", 7, "acc-1", "a|1")]),
                 ("n2", True, []))
        h = incarnations.holders(t)
        self.assertEqual(h[("name", "acc-1")], {("n2", 7)})
        self.assertEqual(h[("pid", "a|1")], {("n2", 7)})

    def test_actors_of_nodes_that_did_not_answer_do_not_count(self):
        t = tree(("n1", True, [actor("n3", 7, "acc-1", "a|1")]),
                 ("n3", False, []))
        self.assertEqual(incarnations.holders(t), {})

    def test_a_stale_copy_on_another_node_is_a_second_holder(self):
        t = tree(("n1", True, [actor("n2", 7, "", "a|1")]),
                 ("n2", True, []),
                 ("n3", True, [actor("n3", 4, "", "a|1")]))
        self.assertEqual(incarnations.holders(t)[("pid", "a|1")],
                         {("n2", 7), ("n3", 4)})

    def test_stopped_actors_hold_nothing(self):
        t = tree(("n1", True, [actor("n1", 7, "acc-1", "a|1",
                                     status="stopped")]))
        self.assertEqual(incarnations.holders(t), {})


class Check(unittest.TestCase):
    one = {("pid", "a|1"): {("n2", 7)}}
    two = {("pid", "a|1"): {("n2", 7), ("n3", 4)}}

    def test_one_holder_throughout_passes(self):
        summary, anomalies = incarnations.check(
            [(0, self.one), (2000, self.one)], 10_000)
        self.assertEqual(anomalies, [])
        self.assertEqual(summary["duplicates_seen"], 0)

    def test_a_duplicate_within_the_window_is_counted_not_failed(self):
        summary, anomalies = incarnations.check(
            [(0, self.one), (2000, self.two), (4000, self.two),
             (6000, self.one)], 10_000)
        self.assertEqual(anomalies, [])
        self.assertEqual(summary["duplicates_seen"], 2)
        self.assertEqual(summary["longest_duplicate_ms"], 2000)

    def test_a_duplicate_that_outlasts_the_window_is_an_anomaly(self):
        samples = [(t, self.two) for t in range(0, 14_000, 2000)]
        _, anomalies = incarnations.check(samples, 10_000)
        self.assertEqual(len(anomalies), 1)
        self.assertIn("pid 'a|1' had two live holders for 12000 ms",
                      anomalies[0])

    def test_separate_short_duplicates_do_not_add_up(self):
        samples = [(0, self.two), (4000, self.two), (6000, self.one),
                   (8000, self.two), (12_000, self.two)]
        _, anomalies = incarnations.check(samples, 5000)
        self.assertEqual(anomalies, [])


if __name__ == "__main__":
    unittest.main()
